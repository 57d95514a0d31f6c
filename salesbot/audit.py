"""The team audit: who changed a creator's settings, who approved, edited or rejected a draft, who sent what
from the console, who handed off, resumed or parked a fan, and when. One list, newest first, for the
creators a user sees (team.scope); admin shows it at /admin/reports/audit/.

Settings come from the creator's history (django-simple-history, models_registry.Creator.history): a
credential is not kept there, only that it changed (`keys_changed`), so no value ever reaches this page."""

from dataclasses import dataclass, field
from datetime import datetime

from fans.models import FanTransition, SafetyClearance
from learning.models import Action
from models_registry.models import Creator
from salesbot.models import Draft, SecurityEvent
from team import scope

LIMIT = 200


@dataclass
class Entry:
    ts: datetime
    who: str
    creator: str
    kind: str  # settings | draft | send | fan | account
    what: str
    details: list[str] = field(default_factory=list)
    fan_pk: int | None = None


def _who(user, fallback: str = "—") -> str:
    return str(user) if user is not None else fallback


def _fan(fan) -> str:
    return f"{fan.name} ({fan.fan_id})" if fan.name else str(fan.fan_id)


def _settings(creator_ids, limit):
    history = Creator.history.select_related("history_user").order_by("-history_date", "-history_id")
    if creator_ids is not scope.ALL:
        history = history.filter(id__in=creator_ids)
    for record in history[:limit]:
        changes = []
        if record.history_type == "~":
            previous = record.prev_record
            if previous is not None:
                changes = [f"{c.field}: {c.old} → {c.new}" for c in record.diff_against(previous).changes]
        verb = "set" if record.history_type == "+" else "changed"
        keys = [f"{k.strip()} {verb} (value not shown)" for k in record.keys_changed.split(",") if k.strip()]
        if record.history_type == "~" and not changes and not keys:
            continue  # saved without a change
        what = {"+": "created the creator", "-": "deleted the creator"}.get(record.history_type, "changed settings")
        yield Entry(
            record.history_date, _who(record.history_user, "system"), record.slug, "settings", what, changes + keys
        )


def _drafts(creator_ids, limit):
    decided = Draft.objects.exclude(decided_by=None)
    if creator_ids is not scope.ALL:
        decided = decided.filter(creator_id__in=creator_ids)
    for d in decided.select_related("decided_by", "creator", "fan").order_by("-decided_at", "-id")[:limit]:
        details = [f"{d.action}" + (f" {d.content_key} at ${d.price}" if d.price is not None else "")]
        if d.reject_reason:
            details.append(f"reason: {d.reject_reason}")
        yield Entry(
            d.decided_at or d.created_at,
            _who(d.decided_by),
            d.creator.slug,
            "draft",
            f"{d.get_status_display()}: draft for fan {_fan(d.fan)}",
            details,
            d.fan_id,
        )


def _sends(creator_ids, limit):
    sent = Action.objects.exclude(sent_by=None).filter(review="")
    if creator_ids is not scope.ALL:
        sent = sent.filter(creator_id__in=creator_ids)
    for a in sent.select_related("sent_by", "creator", "fan").order_by("-ts", "-id")[:limit]:
        what = f"sent {a.action}" + (f" {a.content_key} at ${a.price}" if a.price is not None else "")
        yield Entry(
            a.ts,
            _who(a.sent_by),
            a.creator.slug,
            "send",
            f"{what} to fan {_fan(a.fan)} from the console",
            [f"status: {a.status}"] + ([a.message_text[:120]] if a.message_text else []),
            a.fan_id,
        )


def _fans(creator_ids, limit):
    moves = FanTransition.objects.filter(by_staff=True)
    if creator_ids is not scope.ALL:
        moves = moves.filter(fan__creator_id__in=creator_ids)
    verbs = {"handed_off": "handed off", "engaged": "resumed", "dormant": "parked as dormant"}
    for t in moves.select_related("by_user", "fan__creator").order_by("-ts", "-id")[:limit]:
        verb = verbs.get(t.to_state, f"moved to {t.to_state}")
        yield Entry(
            t.ts, _who(t.by_user, "staff"), t.fan.creator.slug, "fan", f"{verb} fan {_fan(t.fan)}", [t.reason], t.fan_id
        )


def _clearances(creator_ids, limit):
    cleared = SafetyClearance.objects.all()
    if creator_ids is not scope.ALL:
        cleared = cleared.filter(fan__creator_id__in=creator_ids)
    for c in cleared.select_related("by_user", "fan__creator").order_by("-ts", "-id")[:limit]:
        yield Entry(
            c.ts,
            _who(c.by_user),
            c.fan.creator.slug,
            "fan",
            f"cleared the safety flag of fan {_fan(c.fan)}",
            [f"reason: {c.reason}", f"the flag said: {c.was or '—'}"],
            c.fan_id,
        )


def _accounts(user, limit):
    """Logins, failed logins, lockouts and who lifted them, two-factor, API tokens (salesbot.security): a
    manager sees everyone's, anyone else their own. They belong to no creator."""
    events = SecurityEvent.objects.select_related("user", "by_user")
    if not scope.is_manager(user):
        events = events.filter(user=user)
    for e in events[:limit]:
        who = _who(e.by_user) if e.by_user_id else (e.username or _who(e.user))
        what = e.get_kind_display() + (f": {e.username}" if e.by_user_id or e.kind == e.Kind.LOGIN_FAILED else "")
        details = [d for d in (e.detail, f"from {e.ip}" if e.ip else "") if d]
        yield Entry(e.ts, who, "—", "account", what, details)


def entries(user, creator_id: int | None = None, limit: int = LIMIT) -> list[Entry]:
    """The newest `limit` audit entries the user may see (one creator's when `creator_id` is given)."""
    ids = scope.creator_ids(user)
    if creator_id is not None:
        ids = {creator_id} if scope.sees(user, creator_id) else set()
    rows = [e for source in (_settings, _drafts, _sends, _fans, _clearances) for e in source(ids, limit)]
    if creator_id is None:
        rows += _accounts(user, limit)
    rows.sort(key=lambda e: e.ts, reverse=True)
    return rows[:limit]
