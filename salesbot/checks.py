"""Start-up checks (`manage.py check`, and every management command): settings that would let a task
be killed mid-item or a fan be taken by two workers are reported before anything runs."""
from django.conf import settings
from django.core import checks


@checks.register()
def task_budgets(app_configs=None, **kwargs):
    from django_q.conf import Conf

    from salesbot.pipeline.queue import item_worst_case_s

    worst, timeout = item_worst_case_s(), float(Conf.TIMEOUT or 60)
    found = []
    if worst >= timeout:
        found.append(checks.Error(
            f"One queue item can take {worst:.0f} s (LLM_TIMEOUT_S × (LLM_MAX_RETRIES + 1) + PLATFORM_TIMEOUT_S) "
            f"but a task is killed after {timeout:.0f} s (Q_CLUSTER timeout).",
            hint="Lower LLM_TIMEOUT_S, LLM_MAX_RETRIES or PLATFORM_TIMEOUT_S, or raise the task timeout.",
            id="salesbot.E001"))
    if settings.WORKER_LEASE_S < worst:
        found.append(checks.Warning(
            f"WORKER_LEASE_S ({settings.WORKER_LEASE_S:.0f} s) is shorter than one queue item can take "
            f"({worst:.0f} s): a slow item's fan could be taken by a second worker.",
            hint="Raise WORKER_LEASE_S.", id="salesbot.W001"))
    return found
