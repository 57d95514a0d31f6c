"""How a seed state file lands on a fan, and the whale scores (docs/architecture.md#whale-candidates) of the fans
an import touched.

The files are history, not orders. A state file sets every field of a fan the import creates. For a
fan already stored, a field takes the file's value only when the file changed it since the previous
import (ImportedFanState) and the database still holds what the file said then, i.e. nothing live
changed it; a field the previous file did not carry counts as having said the model default. Otherwise
the stored value is kept and counted as kept in the report. The state moves only along the state
machine's table, as a recorded transition, and never for a handed-off, opted-out or safety-flagged fan:
a human's takeover, an opt-out or a safety flag is undone only by staff. Timestamps in the file are not
trusted to say when it was written (generated or copied files carry any date).
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Field

from fans.models import Fan
from fans.state_machine import FanState, StaleState, can_transition, transition
from learning.models import ImportedFanState
from learning.seed.format import PROTECTIVE
from learning.whales import detect_whale_signals_bulk, update_whale_score

REASON = "seed state file"
SCORE_BATCH = 500


def _encode(values: dict) -> dict:
    return {
        k: str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, datetime) else v
        for k, v in values.items()
    }


def _decode(stored: dict) -> dict:
    out = {}
    for k, v in stored.items():
        kind = Fan._meta.get_field(k).get_internal_type()
        if v is not None and kind == "DecimalField":
            v = Decimal(v)
        elif v is not None and kind == "DateTimeField":
            v = datetime.fromisoformat(v)
        out[k] = v
    return out


def _may_move(fan: Fan, to_state: str) -> bool:
    if fan.state == FanState.HANDED_OFF or fan.opted_out or fan.safety_flag:
        return False
    return can_transition(fan.state, to_state)


def apply_state_file(fan: Fan, created: bool, values: dict) -> tuple[list[str], list[str]]:
    """Write a state file's parsed `values` onto `fan` by the rule above and remember them as the next
    import's base. Returns (fields changed, fields whose stored value was kept although the file differs)."""
    base_row = ImportedFanState.objects.filter(fan=fan).first()
    base = _decode(base_row.values) if base_row else {}
    changed: list[str] = []
    kept: list[str] = []
    for k, theirs in values.items():
        ours = getattr(fan, k)
        if ours == theirs:
            continue
        field = Fan._meta.get_field(k)
        assert isinstance(field, Field), f"{k} is one of the fan's own fields"  # format.STATE_FIELDS
        previous = base.get(k, field.get_default())
        if k in PROTECTIVE and not created:
            # A flag, an opt-out or a handoff reason in the file protects the fan: set, never cleared.
            (changed if theirs and not ours else kept).append(k)
        elif created or (ours == previous and (k != "state" or _may_move(fan, theirs))):
            changed.append(k)
        else:
            kept.append(k)
    fields = [k for k in changed if k != "state" or created]
    for k in fields:
        setattr(fan, k, values[k])
    if fields:
        fan.save(update_fields=fields)
    if "state" in changed and not created:
        try:
            transition(fan, values["state"], REASON)
        except StaleState:  # moved live meanwhile: the live state stands
            changed.remove("state")
            kept.append("state")
    ImportedFanState.objects.update_or_create(fan=fan, defaults={"values": _encode(values)})
    return changed, kept


def score_fans(pks: list[int], progress=None) -> tuple[int, int]:
    """Whale scoring for the imported fans, a batch of fans per query: the stored score follows the table and
    a qualifying buyer becomes a whale_candidate (a recorded transition), as live scoring does.
    Returns (scores changed, new whale candidates); `progress(done, total)` after each batch."""
    changed = whales = 0
    for i in range(0, len(pks), SCORE_BATCH):
        fans = list(Fan.objects.filter(pk__in=pks[i : i + SCORE_BATCH]))
        scored = detect_whale_signals_bulk(fans)
        with transaction.atomic():
            for fan in fans:
                score, state = fan.whale_score, fan.state
                try:
                    update_whale_score(fan, scored[fan.pk])
                except StaleState:  # moved live meanwhile; live scoring takes it from there
                    pass
                changed += fan.whale_score != score
                whales += fan.state != state and fan.state == FanState.WHALE_CANDIDATE
        if progress:
            progress(min(i + SCORE_BATCH, len(pks)), len(pks))
    return changed, whales
