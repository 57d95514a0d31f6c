"""A fan's subscription: new, renewed, expired. Renewals are counted on the fan; an expired fan is marked
(admin filters by it) and, if the creator enables it, queued for the playbook's re-engage message."""
from django.db.models import F

from fans.models import Fan
from fans.services import get_or_create_fan
from fans.state_machine import FanState
from salesbot.models import QueueItem
from salesbot.pipeline import events, queue
from salesbot.pipeline.inbound import Inbound, believable


def on_subscription(creator, inbound: Inbound):
    sub: events.NewSubscriber = inbound.event
    fan, created = get_or_create_fan(creator, sub.fan.id, sub.fan.name)
    fields = {"subscription_status": "active", "subscription_expired_at": None}
    if sub.price is not None:
        fields["subscription_price"] = sub.price
    Fan.objects.filter(pk=fan.pk).update(**fields)
    if created or fan.state == FanState.NEW:
        queue.enqueue(fan, QueueItem.Reason.WELCOME,
                      waiting_since=believable(inbound.envelope.created_at, inbound.arrived_at))


def on_renewal(creator, inbound: Inbound):
    renewal: events.Renewal = inbound.event
    fan, _ = get_or_create_fan(creator, renewal.fan.id, renewal.fan.name)
    fields = {"subscription_status": "active", "subscription_expired_at": None,
              "subscription_renewals": F("subscription_renewals") + 1}
    if renewal.price is not None:
        fields["subscription_price"] = renewal.price
    Fan.objects.filter(pk=fan.pk).update(**fields)


def on_expiry(creator, inbound: Inbound):
    expiry: events.Expiry = inbound.event
    fan, _ = get_or_create_fan(creator, expiry.fan.id, expiry.fan.name)
    at = believable(expiry.expired_at, inbound.arrived_at)
    Fan.objects.filter(pk=fan.pk).update(subscription_status="expired", subscription_expired_at=at)
