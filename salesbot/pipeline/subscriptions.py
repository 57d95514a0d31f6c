"""A fan's subscription: new, renewed, expired. Renewals are counted on the fan; an expired fan is marked
(admin filters by it) and, if the creator enables it (Creator.reengage_expired), queued once per expiry
for the re-engage message (router row `expired`, template kind `expired`); a renewal or a new subscription
before it went out closes it."""

from django.db.models import F
from django.utils import timezone

from fans.models import Fan
from fans.services import get_or_create_fan
from fans.state_machine import FanState
from models_registry.models import Creator
from salesbot.models import QueueItem
from salesbot.pipeline import account, events, queue
from salesbot.pipeline.contact import contact_block
from salesbot.pipeline.inbound import Inbound, believable

EXPIRED = "expired"


def on_subscription(creator: Creator, inbound: Inbound[events.NewSubscriber]):
    sub = inbound.event
    fan, created = get_or_create_fan(creator, sub.fan.id, sub.fan.name)
    fields: dict[str, object] = {"subscription_status": "active", "subscription_expired_at": None}
    if sub.price is not None:
        fields["subscription_price"] = sub.price
    Fan.objects.filter(pk=fan.pk).update(**fields)
    _back(fan)
    if created or fan.state == FanState.NEW:
        queue.enqueue(
            fan, QueueItem.Reason.WELCOME, waiting_since=believable(inbound.envelope.created_at, inbound.arrived_at)
        )


def on_renewal(creator: Creator, inbound: Inbound[events.Renewal]):
    renewal = inbound.event
    fan, _ = get_or_create_fan(creator, renewal.fan.id, renewal.fan.name)
    fields: dict[str, object] = {
        "subscription_status": "active",
        "subscription_expired_at": None,
        "subscription_renewals": F("subscription_renewals") + 1,
    }
    if renewal.price is not None:
        fields["subscription_price"] = renewal.price
    Fan.objects.filter(pk=fan.pk).update(**fields)
    _back(fan)


def on_expiry(creator: Creator, inbound: Inbound[events.Expiry]):
    expiry = inbound.event
    fan, _ = get_or_create_fan(creator, expiry.fan.id, expiry.fan.name)
    at = believable(expiry.expired_at, inbound.arrived_at)
    # Conditional: the same expiry told twice (or by two drains at once) is one expiry, re-engaged once.
    newly = (
        Fan.objects.filter(pk=fan.pk)
        .exclude(subscription_status=EXPIRED)
        .update(subscription_status=EXPIRED, subscription_expired_at=at)
    )
    if not newly or not creator.reengage_expired:
        return
    fan.refresh_from_db()
    held_until = account.hold_end(creator, fan)  # a human talking to the fan: after the hold
    if contact_block(creator, fan) is not None and held_until is None:
        return  # never to a fan the contact rule blocks
    queue.enqueue(fan, QueueItem.Reason.EXPIRED, waiting_since=at, not_before=held_until)


def _back(fan: Fan) -> None:
    """The fan subscribed again: a re-engage message that has not gone out yet is no longer wanted."""
    QueueItem.objects.filter(
        fan=fan, reason=QueueItem.Reason.EXPIRED, status=QueueItem.Status.PENDING, action__isnull=True
    ).update(
        status=QueueItem.Status.DONE,
        finished_at=timezone.now(),
        result="closed: the fan subscribed again before the re-engage message went out",
    )
