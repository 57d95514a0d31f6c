"""Messages the creator's account sent (OnlyFansAPI.com `messages.sent`): the echo of our own send, a
mass message's copy to one recipient, or a human typing in the platform's own UI. The echo of our send is
never a human's: it settles a send whose outcome was unknown (sender.settle_sent). A mass message
(`isFromQueue` / `queueId`) goes on the timeline as the campaign's and holds nobody. A human's message goes
on the fan's timeline and holds the bot silent for that fan for the creator's quiet period
(pipeline.contact asks `human_hold_until`); a human's PPV becomes a human Action, so its purchase is
attributed and credited to the human.

What the fan says during the hold is not dropped: it is queued for the hold's end (`hold_end`), when the
worker asks the contact rule again; a human who wrote meanwhile extends the hold (the item waits longer),
and a fan's message a human has answered by then is left to the human (`answered_by_human`)."""

import copy
from datetime import datetime, timedelta

from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from fans.models import Fan, Message
from fans.services import get_or_create_fan
from learning.models import Action
from learning.services import attach_purchases, record_action
from models_registry.models import Creator
from salesbot.pipeline import events
from salesbot.pipeline.contact import contact_block
from salesbot.pipeline.inbound import Inbound, believable, latest
from salesbot.pipeline.sender import settle_sent

# Our send can echo back before the worker has booked its message id: a pending Action this recent with
# the same text is ours.
ECHO_WINDOW = timedelta(minutes=10)


def _same(a: str, b: str) -> bool:
    return " ".join((a or "").split()) == " ".join((b or "").split())


def our_action(creator, fan, sent: events.SentByAccount) -> Action | None:
    """The bot's Action this message is the echo of, or None (a human wrote it): the one booked with its
    message id, else a pending one (its send's answer not booked yet, or its outcome unknown) with the same
    text, sent this recently. (The echo carries no idempotency key; its message id is the send's answer.)"""
    action = Action.objects.filter(creator=creator, fan=fan, platform_message_id=sent.message_id).first()
    if action is not None:
        return action
    recent = Action.objects.filter(fan=fan, platform_message_id__isnull=True, ts__gte=timezone.now() - ECHO_WINDOW)
    recent = recent.filter(Q(status=Action.Status.PENDING) | Q(extra__outcome_unknown=True)).exclude(
        source=Action.Source.HUMAN
    )
    return next((a for a in recent.order_by("-ts") if _same(a.message_text, sent.text)), None)


def on_sent_by_account(creator: Creator, inbound: Inbound[events.SentByAccount]):
    sent = inbound.event
    fan, _ = get_or_create_fan(creator, sent.fan.id, sent.fan.name)
    if sent.mass and book_campaign_echo(fan, sent):
        return
    ours = our_action(creator, fan, sent)
    if ours is not None:  # our own send echoed: linked, never a human's
        if (ours.extra or {}).get("outcome_unknown"):
            settle_sent(ours, sent.message_id)  # the send went out: the echo is the proof
            ours.refresh_from_db()
        if ours.source != Action.Source.HUMAN and not (ours.extra or {}).get("echo_event_id"):
            Action.objects.filter(pk=ours.pk).update(extra={**(ours.extra or {}), "echo_event_id": inbound.event_id})
        return
    if sent.mass:
        on_mass_message(fan, sent, inbound)
        return
    if Message.objects.filter(fan=fan, direction=Message.Direction.OUT, platform_message_id=sent.message_id).exists():
        return
    ts = believable(sent.sent_at, inbound.arrived_at)
    Message.objects.create(
        fan=fan,
        direction=Message.Direction.OUT,
        text=sent.text,
        by_human=True,
        platform_message_id=sent.message_id,
        ts=ts,
    )
    hold = ts + timedelta(minutes=creator.human_quiet_minutes)
    Fan.objects.filter(pk=fan.pk).update(
        human_hold_until=Greatest(Coalesce(F("human_hold_until"), Value(hold)), Value(hold)),
        last_interaction_ts=latest(ts),
    )
    if sent.price > 0:
        fan.refresh_from_db()
        offer = record_action(
            fan,
            Action.Kind.PPV,
            ts=ts,
            price=sent.price,
            message_text=sent.text,
            source=Action.Source.HUMAN,
            status=Action.Status.LOGGED,
            route="human",
            platform_message_id=sent.message_id,
            reason="sent by a human in the platform's UI",
        )
        attach_purchases(offer)


def book_campaign_echo(fan, sent: events.SentByAccount) -> bool:
    """A mass message's copy echoed (isFromQueue / queueId) that one of our campaigns sent
    (salesbot.campaigns.sending): the recipient's campaign Action booked as sent, once. False when no
    campaign of ours sent it (a mass message from the platform's own UI)."""
    mine = Action.objects.filter(fan=fan, source=Action.Source.CAMPAIGN)
    if mine.filter(platform_message_id=sent.message_id).exists():
        return True  # booked already (a redelivered echo)
    pending = mine.filter(status=Action.Status.PENDING)
    action = None
    if sent.queue_id is not None:
        action = pending.filter(campaign_recipient__campaign__queue_id=sent.queue_id).first()
    if action is None:  # the echo can outrun the campaign storing its queue id
        action = next((a for a in pending.order_by("-ts") if _same(a.message_text, sent.text)), None)
    if action is None:
        return False
    action.creator = fan.creator
    settle_sent(action, sent.message_id)
    return True


def on_mass_message(fan, sent: events.SentByAccount, inbound: Inbound[events.SentByAccount]):
    """One recipient's copy of a mass message: on the fan's timeline as the campaign's (not a person's, so
    no hold, no human PPV); a purchase of it stays the creator's, unattributed to any sender."""
    if Message.objects.filter(fan=fan, direction=Message.Direction.OUT, platform_message_id=sent.message_id).exists():
        return
    ts = believable(sent.sent_at, inbound.arrived_at)
    campaign = f"mass message{f' (queue {sent.queue_id})' if sent.queue_id else ''}"
    price = f" ${sent.price}" if sent.price > 0 else ""
    Message.objects.create(
        fan=fan,
        direction=Message.Direction.OUT,
        by_human=False,
        ts=ts,
        platform_message_id=sent.message_id,
        text=f"[{campaign}{price}] {sent.text}"[:10000],
    )


def hold_end(creator, fan) -> datetime | None:
    """When the human hold ends, if it is the only thing keeping the bot from this fan now; else None
    (no hold, or the fan is blocked for another reason too: handed off, opted out …)."""
    hold = getattr(fan, "human_hold_until", None)
    if hold is None or hold <= timezone.now():
        return None
    unheld = copy.copy(fan)
    unheld.human_hold_until = None
    return hold if contact_block(creator, unheld) is None else None


def answered_by_human(fan, since_message=None, since=None) -> bool:
    """A human wrote to the fan in the platform's UI after the fan's message `since_message` (by arrival)
    or after the time `since`: what the bot was queued to answer, the human already did."""
    human = Message.objects.filter(fan=fan, direction=Message.Direction.OUT, by_human=True)
    if since_message is not None:
        return human.filter(pk__gt=since_message.pk).exists()
    return since is not None and human.filter(ts__gte=since).exists()
