"""Read-only questions about a fan."""

from django.db.models import Q

from fans.state_machine import FanState


def needs_a_human() -> Q:
    """Fans only a person may answer: handed off, or safety-flagged in any state (the sender refuses a
    flagged fan until a staff resume, so a flagged fan parked elsewhere must not drop out of sight)."""
    return Q(state=FanState.HANDED_OFF) | Q(safety_flag=True)


# The handoffs that protect a person (the fan, the creator): such a fan is sold nothing by anyone, and only a
# manager clears the flag. Every other handoff (a custom request, a video call, a legal threat, a whale) asks a
# person to take over the sale, and any chatter may give the fan back to the bot.
SAFETY_REASONS = (
    "possible minor",
    "mentions self-harm",
    "claims to know the creator's real identity",
    "restricted content",
)
SAFETY_PREFIX, SALE_PREFIX = "safety: ", "needs a human: "


def handoff_kind(fan) -> str:
    """ "safety", "sale" (a person sells), "staff" (handed off by a person) or "" (not handed off)."""
    if fan.safety_flag:
        return "safety"
    if fan.state != FanState.HANDED_OFF:
        return ""
    return "sale" if fan.handoff_reason.startswith(SALE_PREFIX) else "staff"


def handoff_label(fan) -> str:
    """The handoff reason without its prefix, as staff read it ("possible minor", "custom request …")."""
    reason = fan.handoff_reason or ""
    for prefix in (SAFETY_PREFIX, SALE_PREFIX):
        if reason.startswith(prefix):
            return reason[len(prefix) :]
    return reason


def response_target_s(fan) -> int | None:
    """How soon a person must answer this fan's latest message (seconds), or None if the fan is the bot's: the
    creator's first-response target until a person has written to them since they were handed over, then the
    next-response target."""
    if not (fan.safety_flag or fan.state == FanState.HANDED_OFF):
        return None
    answered = fan.messages.filter(direction="out", by_human=True)
    if fan.needs_human_since is not None:
        answered = answered.filter(ts__gte=fan.needs_human_since)
    minutes = fan.creator.next_response_minutes if answered.exists() else fan.creator.first_response_minutes
    return 60 * minutes
