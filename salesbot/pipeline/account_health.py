"""The creator's account session as the provider reports it (accounts.session_expired,
accounts.authentication_failed, accounts.otp_code_required; accounts.reconnected). While it is not OK,
every send would fail, so the worker defers the creator's items (queued, not failed: `paused_until`) and
staff see it on the creator (Creator.account_health, since when, logged as a warning); a reconnect puts
the waiting items back in line at once."""

import logging
from datetime import timedelta

from django.utils import timezone

from models_registry.models import AccountHealth, Creator
from salesbot.models import QueueItem
from salesbot.pipeline import events, queue
from salesbot.pipeline.inbound import Inbound

log = logging.getLogger(__name__)

# A paused creator's items are looked at again after this long (a reconnect wakes them sooner).
RECHECK_S = 300.0


def on_account_state(creator: Creator, inbound: Inbound[events.AccountState]):
    state = inbound.event
    health = state.health if state.health in AccountHealth.values else AccountHealth.OK
    current = Creator.objects.filter(pk=creator.pk).values_list("account_health", flat=True).first()
    if current == health:
        return
    Creator.objects.filter(pk=creator.pk).update(account_health=health, account_health_since=timezone.now())
    creator.account_health = health
    if health != AccountHealth.OK:
        log.warning(
            "account %s of %s: %s (%s): sends wait until it reconnects",
            creator.account_id,
            creator.slug,
            AccountHealth(health).label,
            state.detail or "no detail",
        )
        return
    log.warning("account %s of %s reconnected: sends resume", creator.account_id, creator.slug)
    now = timezone.now()
    waiting = QueueItem.objects.filter(
        creator=creator, status=QueueItem.Status.PENDING, not_before__gt=now, result__startswith=PAUSED
    )
    if waiting.update(not_before=now):
        queue.wake_worker(1)


PAUSED = "waiting: account "


def paused(creator, fresh: bool = True) -> str | None:
    """Why the creator's sends wait now (its session is dead), or None. `fresh=False`: the creator row was
    read just now (the worker's claim reads it with the item), so its field is used as it is."""
    health = (
        Creator.objects.filter(pk=creator.pk).values_list("account_health", flat=True).first()
        if fresh
        else creator.account_health
    )
    if not health or health == AccountHealth.OK:
        return None
    return f"account {AccountHealth(health).label}"


def paused_until():
    return timezone.now() + timedelta(seconds=RECHECK_S)
