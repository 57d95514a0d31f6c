"""The background checks (docs/architecture.md#the-queue-and-the-background-checks); each is a plain function a
schedule calls."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from fans.models import Fan, FanTransition
from fans.state_machine import FanState, StaleState, transition
from learning.attribution import answered
from learning.models import Action, Outcome
from learning.services import record_outcome
from models_registry.models import Creator
from salesbot.models import IntakeDrain, LLMBatchRequest, QueueItem, WebhookEvent
from salesbot.pipeline import intake, queue, recovery
from salesbot.pipeline.contact import contact_block

log = logging.getLogger(__name__)

DORMANT_AFTER = timedelta(hours=24)
BUMP_AFTER = timedelta(hours=4)
STUCK_AFTER = timedelta(seconds=10)  # a drain normally starts within a second of the webhook


def mark_dormant(now=None) -> int:
    """24h+ without activity → dormant, and `ghosted` on the bot's last action if the fan never answered it
    (no reply, purchase or tip since: learning.attribution.answered)."""
    now = now or timezone.now()
    cutoff = now - DORMANT_AFTER
    quiet = Fan.objects.exclude(state__in=[FanState.DORMANT, FanState.HANDED_OFF]).filter(
        Q(last_interaction_ts__lt=cutoff) | Q(last_interaction_ts__isnull=True, created_ts__lt=cutoff)
    )
    n = 0
    for fan in quiet.iterator():
        # The queryset is read once: a fan may have been handed off since. The move is conditional on the
        # state read (StaleState otherwise), and the ghost is kept only if the move happens.
        try:
            with transaction.atomic():
                last = Action.objects.filter(fan=fan, status=Action.Status.SENT).order_by("-ts", "-seq").first()
                if last is not None and not answered(last):
                    record_outcome(fan, Outcome.Event.GHOSTED, ts=now, action=last, pinned=True)
                transition(fan, FanState.DORMANT, "24h no activity")
        except StaleState as e:
            log.info("dormancy checker: skipped fan %s: %s", fan.fan_id, e)
            continue
        n += 1
    if n:
        log.info("dormancy checker: %s fans now dormant", n)
    ghost_unanswered_on_dormant(now)
    return n


def ghost_unanswered_on_dormant(now=None) -> int:
    """A fan already dormant does not go dormant again, so the bot's last action to them (a rekindle) is
    marked `ghosted` here once it has gone unanswered for DORMANT_AFTER: the dormant row of
    ghost_rate_by_stage counts the rekindles that failed, not only the ones that worked."""
    now = now or timezone.now()
    later = Action.objects.filter(fan=OuterRef("fan"), status=Action.Status.SENT).filter(
        Q(ts__gt=OuterRef("ts")) | Q(ts=OuterRef("ts"), seq__gt=OuterRef("seq"))
    )
    candidates = (
        Action.objects.filter(
            fan__state=FanState.DORMANT,
            fan_state=FanState.DORMANT,
            status=Action.Status.SENT,
            ghosted=False,
            ts__lt=now - DORMANT_AFTER,
        )
        .exclude(Exists(later))
        .select_related("fan")
    )
    n = 0
    for action in candidates.iterator():
        if answered(action):
            continue
        with transaction.atomic():
            fan = Fan.objects.select_for_update().get(pk=action.fan_id)
            if fan.state != FanState.DORMANT or Action.objects.filter(pk=action.pk, ghosted=True).exists():
                continue
            record_outcome(fan, Outcome.Event.GHOSTED, ts=now, action=action, pinned=True)
            n += 1
    if n:
        log.info("dormancy checker: %s action(s) to dormant fans went unanswered (ghosted)", n)
    return n


def enqueue_bumps(now=None) -> int:
    """One bump for fans pitched 4h+ ago whose PPV is unbought; never two for the same PPV (nor one while the
    model writes the fan's follow-up in a batch)."""
    now = now or timezone.now()
    n = 0
    for fan in Fan.objects.filter(state=FanState.PITCHED).select_related("creator"):
        if contact_block(fan.creator, fan):
            continue
        ppv = (
            Action.objects.filter(fan=fan, action=Action.Kind.PPV, status=Action.Status.SENT)
            .order_by("-ts", "-seq")
            .first()
        )
        if ppv is None or ppv.purchased or ppv.ts > now - BUMP_AFTER:
            continue
        if Action.objects.filter(fan=fan, action=Action.Kind.BUMP, ts__gte=ppv.ts).exists():
            continue
        if QueueItem.objects.filter(
            fan=fan, reason=QueueItem.Reason.BUMP, status__in=[QueueItem.Status.PENDING, QueueItem.Status.WORKING]
        ).exists():
            continue
        if fan.creator.llm_batch_followups and _batch_open(fan):
            continue
        queue.enqueue(fan, QueueItem.Reason.BUMP, waiting_since=now)
        n += 1
    return n


def enqueue_reactivation(creator: Creator, now=None) -> int:
    """Dormant fans who spent money get one rekindle each (none if one was sent since they went quiet)."""
    now = now or timezone.now()
    went_dormant = (
        FanTransition.objects.filter(fan=OuterRef("pk"), to_state=FanState.DORMANT).order_by("-ts").values("ts")[:1]
    )
    rekindled = Action.objects.filter(fan=OuterRef("pk"), action=Action.Kind.REKINDLE, ts__gte=OuterRef("quiet_since"))
    fans = (
        Fan.objects.filter(creator=creator, state=FanState.DORMANT, total_spent__gt=0)
        .annotate(quiet_since=Coalesce(Subquery(went_dormant), "created_ts"))
        .annotate(done=Exists(rekindled))
        .filter(done=False)
    )
    n = 0
    for fan in fans:
        if contact_block(creator, fan):  # a flagged fan parked by staff, an opt-out, a disabled creator
            continue
        if creator.llm_batch_followups and _batch_open(fan):
            continue
        queue.enqueue(fan, QueueItem.Reason.REKINDLE, waiting_since=now)
        n += 1
    if n:
        queue.wake_worker(n)
    return n


def _batch_open(fan) -> bool:
    """The model writes this fan's follow-up in a batch already (salesbot.pipeline.batches)."""
    return LLMBatchRequest.objects.filter(fan=fan, status__in=LLMBatchRequest.OPEN).exists()


def refresh_all_stats() -> int:
    from learning.stats import refresh_learning_stats

    creators = list(Creator.objects.all())
    for c in creators:
        refresh_learning_stats(c)
    return len(creators)


def drain_stuck_events(now=None, seconds: float = 20.0) -> int:
    """Events stored but still waiting after STUCK_AFTER (their drain task was lost, skipped or failed
    to queue) are processed here, and a wake flag stuck that long is cleared so webhooks queue drains
    again. Returns how many events were processed."""
    now = now or timezone.now()
    cutoff = now - STUCK_AFTER
    IntakeDrain.objects.filter(queued=True, changed_at__lt=cutoff).update(queued=False, changed_at=now)
    if not WebhookEvent.objects.filter(
        status=WebhookEvent.Status.RECEIVED, received_at__lt=cutoff, attempts__lt=intake.MAX_ATTEMPTS
    ).exists():
        return 0
    n = intake.drain(seconds=seconds, older_than=cutoff)
    log.warning("sweeper: %s stored webhook event(s) processed late (drain task lost or skipped)", n)
    return n


TICK_S = 1.0
STUCK_ITEM_S = 4.0  # a workable item waiting this long with no task is woken for


def recover(now=None) -> dict:
    """What a crash or an outage left waiting, looked at every second (tasks.start_recovery_ticker): a dead
    worker's items (taken over at once), a stale drain flag or events left waiting (a drain queued), a
    retry whose time came or an item waiting with no task (a worker woken)."""
    now = now or timezone.now()
    reclaimed = recovery.reclaim_dead(now)
    flag = recovery.stale_drain_flag(now)
    woke_drain = woke_worker = False
    waiting_events = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.RECEIVED,
        attempts__lt=intake.MAX_ATTEMPTS,
        received_at__lt=now - timedelta(seconds=recovery.STALE_FLAG_S / 2),
    )
    if (flag or waiting_events.exists()) and not queue.drain_queued():
        woke_drain = queue.wake_drain()
    due = queue.workable(now=now)
    just_due = due.filter(not_before__gt=now - timedelta(seconds=TICK_S * 2))  # e.g. a retry whose time came
    stuck = due.filter(not_before__lt=now - timedelta(seconds=STUCK_ITEM_S))  # waiting with no task for it
    if reclaimed or just_due.exists() or stuck.exists():
        queue.wake_worker(1)
        woke_worker = True
    return {"reclaimed": reclaimed, "stale_flag": flag, "woke_drain": woke_drain, "woke_worker": woke_worker}
