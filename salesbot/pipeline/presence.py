"""A fan's presence, from the provider's ephemeral events (never stored, no idempotency key): typing holds
the fan's queued reply a few seconds (the worker asks `typing_wait`), online/offline are kept on the fan for
timing. One UPDATE at the door; a fan we do not know yet is not created for it."""

from datetime import datetime, timedelta

from django.utils import timezone

from fans.models import Fan
from salesbot.pipeline import events

# One typing event means "typing now"; the provider repeats it while the fan types. Each holds the reply
# this long, and a reply is never held longer than TYPING_MAX_HOLD_S after the fan's message.
TYPING_HOLD_S = 4.0
TYPING_MAX_HOLD_S = 10.0


def apply(creator, seen: events.Presence) -> int:
    now = timezone.now()
    fans = Fan.objects.filter(creator=creator, fan_id=seen.fan.id)
    if seen.kind == "typing":
        return fans.update(typing_until=now + timedelta(seconds=TYPING_HOLD_S))
    if seen.kind in ("online", "offline"):
        return fans.update(
            online=seen.kind == "online",
            online_changed_at=now,
            **({"typing_until": None} if seen.kind == "offline" else {}),
        )
    return 0


def typing_wait(fan, waiting_since: datetime | None) -> datetime | None:
    """Until when the fan's queued reply waits because the fan is still typing, or None: while the typing
    lasts, and never past TYPING_MAX_HOLD_S after the message it answers."""
    until = getattr(fan, "typing_until", None)
    now = timezone.now()
    if until is None or until <= now:
        return None
    cap = (waiting_since or now) + timedelta(seconds=TYPING_MAX_HOLD_S)
    until = min(until, cap)
    return until if until > now else None
