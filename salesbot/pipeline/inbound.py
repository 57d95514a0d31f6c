"""One stored webhook event as the intake handlers see it, and the clock rules they share."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from django.db.models import Value
from django.db.models.functions import Coalesce, Greatest

from salesbot.pipeline import events

E = TypeVar("E", bound=events.Event)


@dataclass(frozen=True)
class Inbound(Generic[E]):
    """One stored event as the handlers see it: its envelope, its typed event, when it reached us.
    A handler names the event type it takes (Inbound[events.Tip]); intake.HANDLERS picks it by that type."""

    envelope: events.Envelope
    event: E
    arrived_at: datetime

    @property
    def event_id(self) -> str | None:
        return self.envelope.event_id


# A sender's clock may be off; beyond these bounds its time is not believed (see believable()).
CLOCK_AHEAD = timedelta(minutes=5)
CLOCK_BEHIND = timedelta(days=7)


def believable(claimed: datetime | None, arrived_at: datetime) -> datetime:
    """The time to book an event at: its own time unless it lies in the future or further back than any
    late delivery (a message "sent" on 9999-12-31 would stay the fan's latest forever and make response
    times negative); then the arrival time. Late deliveries within a week keep their own time, so
    attribution and dormancy see when things really happened."""
    if claimed is None or not (arrived_at - CLOCK_BEHIND <= claimed <= arrived_at + CLOCK_AHEAD):
        return arrived_at
    return claimed


def latest(ts):
    """A late-delivered old event must not move the fan's last activity backwards."""
    return Greatest(Coalesce("last_interaction_ts", Value(ts)), Value(ts))
