"""A person writing to a fan from the timeline's console: text, or vault content the fan has not had with a
price in the creator's bounds. It goes through the one sender (last gate with the people's contact rule,
idempotency key, books) as an Action of that person (source `staff`, sent_by), so outcomes are attributed
and credited as for the bot; the person then holds the fan (the bot stays quiet for the creator's quiet
period). A manager may release a hold early."""

from decimal import Decimal

from django.utils import timezone

from fans.models import Fan, Message
from fans.selectors import response_target_s
from learning.models import Action
from salesbot.pipeline import drafts, sender
from salesbot.pipeline.contact import HUMAN
from salesbot.pipeline.decisions import Decision


class ConsoleError(Exception):
    """Why the message cannot go (shown to the person)."""


def unsent_content(fan) -> list:
    """Vault items the fan has not been sent (what a draft's edit may swap in)."""
    had = set(fan.content_sent or [])
    return [v for v in fan.creator.vault_items.all() if v.content_key not in had and v.media_ids]


def waiting_s(fan) -> float | None:
    """How long the fan's latest unanswered message has waited (the person's response time)."""
    last_out = fan.messages.filter(direction=Message.Direction.OUT).order_by("-ts").values_list("ts", flat=True)
    first_in = fan.messages.filter(direction=Message.Direction.IN)
    if last_out.first():
        first_in = first_in.filter(ts__gt=last_out.first())
    ts = first_in.order_by("ts").values_list("ts", flat=True).first()
    return round((timezone.now() - ts).total_seconds(), 3) if ts else None


class Unseen(ConsoleError):
    """The fan wrote after the newest message the person had on screen: nothing was sent."""

    def __init__(self, newest_id: int):
        self.newest_id = newest_id
        super().__init__("the fan wrote since you last looked: read it, then send again to confirm")


def send(
    fan, user, *, text: str = "", content_key: str = "", price: Decimal | None = None, seen: int | None = None
) -> Action:
    """A person's message: text, or a vault item (a PPV when it has a price; a paid item without one is offered
    at its listed price). `seen`: the newest fan message id the person had on screen; if the fan wrote after
    it, nothing is sent (Unseen) and the person confirms by sending again."""
    text, content_key = (text or "").strip(), (content_key or "").strip()
    if seen is not None:
        newest = (
            fan.messages.filter(direction=Message.Direction.IN).order_by("-id").values_list("id", flat=True).first()
            or 0
        )
        if newest > seen:
            raise Unseen(newest)
    if content_key and price is None:
        item = fan.creator.vault_items.filter(content_key=content_key).first()
        price = item.default_price if item is not None else None
    kind = Action.Kind.PPV if content_key and price else (Action.Kind.FREE_MEDIA if content_key else Action.Kind.TEXT)
    target = response_target_s(fan)  # kept with the send: the shift report counts targets met
    decision = Decision(
        kind,
        text=text,
        content_key=content_key,
        price=price if kind == Action.Kind.PPV else None,
        reason=f"written by {user} in the console",
        route="console",
        source=Action.Source.STAFF,
        extra={"target_s": target} if target else {},
    )
    why = sender.refusal(fan.creator, fan, kind, text=text, content_key=content_key, price=decision.price, writer=HUMAN)
    if why:
        raise ConsoleError(why)
    action = sender.record(fan.creator, fan, decision, why, response_time_s=waiting_s(fan), by=user)
    drafts.supersede_for_fan(fan)  # the person answered: the bot's pending drafts are moot
    return drafts.send_now(action)


def release(fan, user) -> bool:
    """End a human's hold: the bot may answer again at once."""
    return bool(
        Fan.objects.filter(pk=fan.pk, human_hold_until__isnull=False).update(human_hold_until=None, held_by=None)
    )


def hold(fan) -> dict | None:
    """Who holds the fan and until when, or None."""
    if fan.human_hold_until is None or fan.human_hold_until <= timezone.now():
        return None
    return {"until": fan.human_hold_until, "by": str(fan.held_by) if fan.held_by_id else "a human in the platform's UI"}
