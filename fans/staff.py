"""What staff do with one fan in admin: read the whole conversation as one timeline, leave notes,
hand off, resume, park as dormant. Views call these; nothing here renders HTML."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from heapq import merge

from django.db import transaction
from django.utils import timezone

from fans.models import Fan, Message
from fans.services import hand_off, resume
from fans.state_machine import FanState, StaleState, can_transition, transition

TIMELINE_LIMIT = 300

# Several rows can share a timestamp (a reply, its outcome, the bot's answer and the move it caused):
# within one instant show them in the order they happen.
_RANK = {"message_in": 0, "outcome": 1, "action": 2, "message_out": 3, "transition": 4}


@dataclass
class Entry:
    ts: datetime
    kind: str  # message_in, message_out, action, outcome, transition
    title: str
    text: str = ""
    details: list[str] = field(default_factory=list)
    order: int = 0  # tie-break within one timestamp (seq or id)

    @property
    def sort_key(self):
        return (self.ts, _RANK[self.kind], self.order)


def _messages(fan, limit):
    for m in fan.messages.order_by("-ts", "-id")[:limit]:
        incoming = m.direction == Message.Direction.IN
        who = (
            f"{fan.name or 'fan'} wrote"
            if incoming
            else ("a human wrote: the bot holds off" if m.by_human else "bot wrote")
        )
        yield Entry(m.ts, "message_in" if incoming else "message_out", who, m.text, order=m.id)


def _actions(fan, limit):
    for a in fan.actions.select_related("sent_by").order_by("-ts", "-seq")[:limit]:
        details = [f"{a.get_status_display()}", f"by {a.source}"]
        if a.sent_by_id:
            details.append(f"{a.get_review_display() + ' by' if a.review else 'sent by'} {a.sent_by}")
        if a.content_key:
            details.append(f"content {a.content_key}")
        if a.price is not None:
            details.append(f"${a.price}")
        if a.hook:
            details.append(f"hook {a.hook}")
        if a.route:
            details.append(f"route {a.route}")
        if a.purchased:
            details.append("bought")
        if a.ghosted:
            details.append("ghosted")
        if a.reason:
            details.append(a.reason)
        if a.error:
            details.append(f"error: {a.error}")
        title = f"action: {a.action}"
        capped = (a.extra or {}).get("capped_offer")
        if capped:
            title += " (PPV offer blocked by the 24h spend cap)"
            details.insert(0, capped_note(capped))
        yield Entry(a.ts, "action", title, a.message_text, details, order=a.seq)


def capped_note(offer: dict) -> str:
    """What the spend cap held back (salesbot.pipeline.engine.capped records it), in words staff read at a glance."""
    what = "PPV " + (offer.get("content_key") or "offer")
    if offer.get("price"):
        what += f" at ${offer['price']}"
    return f"not sent: {what}; ${offer.get('spent_24h')} spent in the last 24h, cap ${offer.get('cap')}"


def _outcomes(fan, limit):
    for o in fan.outcomes.order_by("-ts", "-seq")[:limit]:
        title = f"outcome: {o.event}" + (f" ${o.amount}" if o.amount is not None else "")
        details = [f"answers {o.action}"] if o.action_id else ["not attributed to an action"]
        reversed_ = (o.extra or {}).get("reversed")
        if reversed_:
            title = f"outcome: {reversed_.get('was')} reversed" + (f" ${o.amount}" if o.amount is not None else "")
            details.append(reversed_.get("reason", ""))
        yield Entry(o.ts, "outcome", title, details=details, order=o.seq)


def _transitions(fan, limit):
    for t in fan.transitions.select_related("by_user").order_by("-ts", "-id")[:limit]:
        who = f"by {t.by_user}" if t.by_user else "by staff" if t.by_staff else "by the bot"
        yield Entry(t.ts, "transition", f"state: {t.from_state} → {t.to_state}", t.reason, [who], order=t.id)


def timeline(fan: Fan, limit: int = TIMELINE_LIMIT) -> list[Entry]:
    """Messages, actions, outcomes and state changes, oldest first: the latest `limit` of them."""
    streams = [
        sorted(gen(fan, limit), key=lambda e: e.sort_key) for gen in (_messages, _actions, _outcomes, _transitions)
    ]
    entries = list(merge(*streams, key=lambda e: e.sort_key))
    return entries[-limit:]


def timeline_size(fan: Fan) -> int:
    return fan.messages.count() + fan.actions.count() + fan.outcomes.count() + fan.transitions.count()


@transaction.atomic
def add_note(fan: Fan, text: str, author: str, now=None) -> Fan:
    """Append one timestamped line to the fan's notes (row-locked so two staff never overwrite each other)."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("A note needs some text.")
    locked = Fan.objects.select_for_update().get(pk=fan.pk)
    stamp = (now or timezone.now()).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    line = f"[{stamp}] {author}: {text}"
    locked.notes = f"{locked.notes.rstrip()}\n{line}" if locked.notes.strip() else line
    locked.save(update_fields=["notes"])
    fan.notes = locked.notes
    return fan


def staff_hand_off(fan: Fan, author: str, reason: str = "", user=None) -> Fan:
    """`user` (the person, kept on the FanTransition for the audit) when known; `author` names them."""
    return hand_off(fan, reason.strip() or f"handed off by {author} in admin", by_staff=True, by_user=user)


def staff_resume(fan: Fan, author: str, user=None) -> bool:
    """Give a handed-off fan back to the bot (engaged); False if the fan was not handed off or still carries a
    safety flag (a manager clears that first, with a reason: fans.services.clear_safety_flag)."""
    fan.refresh_from_db(fields=["state", "safety_flag", "handoff_reason"])
    if fan.safety_flag or fan.state != FanState.HANDED_OFF:
        return False
    try:
        resume(fan, f"resumed by {author} in admin"[:200], by_user=user)
    except StaleState:
        return False
    return True


def staff_mark_dormant(fan: Fan, author: str, user=None) -> bool:
    """Park a fan as dormant. A safety flag stays set: a flagged fan is never sold to, reactivated or
    bumped, whatever its state, until a manager clears the flag."""
    fan.refresh_from_db(fields=["state"])
    if fan.state == FanState.DORMANT or not can_transition(fan.state, FanState.DORMANT, by_staff=True):
        return False
    try:
        transition(fan, FanState.DORMANT, f"marked dormant by {author}", by_staff=True, by_user=user)
    except StaleState:
        return False
    return True
