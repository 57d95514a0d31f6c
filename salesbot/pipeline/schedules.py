"""The django-q2 schedules (docs/architecture.md#the-queue-and-the-background-checks), created idempotently
after every migrate."""

from django_q.models import Schedule

SCHEDULES = [
    # name,               function,                          every N minutes
    ("dormancy_checker", "salesbot.tasks.dormancy_checker", 15),
    ("bump_checker", "salesbot.tasks.bump_checker", 10),
    ("stats_refresh", "salesbot.tasks.refresh_stats", 5),
    ("sweeper", "salesbot.tasks.sweeper", 1),
    # Fans who need a person and wait unassigned (nobody had room, or nobody was on duty): routed again.
    ("assign_waiting", "salesbot.tasks.assign_waiting", 1),
    # Approved campaigns whose send time came (salesbot.campaigns.sending), each sent once.
    ("campaigns", "salesbot.tasks.send_campaigns", 1),
    # OnlyFansAPI.com has no chargeback webhook: read hourly (a few credits per creator and hour).
    ("chargebacks", "salesbot.tasks.pull_chargebacks", 60),
    ("experiment_guardrails", "salesbot.tasks.check_experiments", 15),
    # Follow-ups the model writes through the Message Batches API (Creator.llm_batch_followups): ended batches'
    # results applied, queued requests sent in one batch.
    ("llm_batches", "salesbot.tasks.llm_batches", 1),
]


def ensure_schedules(**kwargs) -> int:
    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1}
        )
    return len(SCHEDULES)
