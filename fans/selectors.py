"""Read-only questions about a fan."""
from django.db.models import Q

from fans.state_machine import FanState


def needs_a_human() -> Q:
    """Fans only a person may answer: handed off, or safety-flagged in any state (the sender refuses a
    flagged fan until a staff resume, so a flagged fan parked elsewhere must not drop out of sight)."""
    return Q(state=FanState.HANDED_OFF) | Q(safety_flag=True)
