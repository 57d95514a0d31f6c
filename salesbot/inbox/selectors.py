"""What the inbox shows: the conversations in a person's scope, most urgent first; one conversation as chat
bubbles; the fan beside it. The live feed's stamps and cache are salesbot.inbox.live."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from fans import facts
from fans.models import Fan, Message, SafetyClearance
from fans.selectors import handoff_kind, handoff_label, needs_a_human
from learning.models import Action, Outcome
from learning.selectors import purchases, spent_last_24h
from models_registry.models import AccountHealth, Creator
from salesbot.models import Draft, ReadMark
from salesbot.pipeline import autonomy
from team import scope
from team.models import Autonomy, Snippet

CANDIDATES = 120  # recently active fans looked at besides those that need a person (and drafts, holds)
ROWS = 80
BUBBLES = 80
FILTERS = {
    "": "all",
    "human": "needs a human",
    "mine": "mine",
    "breached": "target breached",
    "drafts": "drafts",
    "unread": "unread",
}


@dataclass
class Row:
    fan: Fan
    last_text: str
    last_in: bool
    last_ts: datetime | None
    waiting_since: datetime | None
    unread: int
    drafts: int
    badges: list[tuple[str, str]] = field(default_factory=list)  # (css kind, label)
    needs_human: bool = False
    target: dict | None = None  # the response target's state: {"state": within|soon|breached, "label": …}
    awaiting_me: bool = False

    @property
    def awaiting(self) -> bool:
        """The fan's latest message is theirs: somebody owes them an answer."""
        return self.last_in and not self.fan.opted_out

    @property
    def waiting_s(self) -> float:
        return (timezone.now() - self.waiting_since).total_seconds() if self.awaiting and self.waiting_since else 0.0

    @property
    def age_label(self) -> str:
        """How long the fan has waited, or how long ago the last message was (inbox.js keeps it current)."""
        if self.awaiting and self.waiting_since:
            return f"waiting {_dur(self.waiting_s)}"
        return f"{_dur((timezone.now() - self.last_ts).total_seconds())} ago" if self.last_ts else ""

    @property
    def group(self) -> int:
        return 0 if (self.needs_human and self.awaiting) else 1 if (self.awaiting or self.drafts) else 2

    @property
    def value(self) -> float:
        return 1 + float(self.fan.total_spent) / 50 + self.fan.whale_score

    @property
    def priority(self) -> tuple:
        """Needs a human and awaiting first, then awaiting, then the rest; within each, the wait weighted by
        what the fan is worth (spend and whale score), so a big spender's minute counts more."""
        recency = self.last_ts.timestamp() if self.last_ts else 0
        return (self.group, -self.waiting_s * self.value, -recency)

    @property
    def awaits_anyone(self) -> bool:
        """The answer the fan awaits is anyone's to give: they need a person and are nobody's yet, or the mode
        is off."""
        fan = self.fan
        return self.awaiting and (
            (self.needs_human and fan.assigned_to_id is None) or autonomy.mode(fan.creator, fan) == Autonomy.OFF
        )

    def awaits(self, user) -> bool:
        """This person owes the fan an answer: assigned to them, held by them, or it is anyone's to give."""
        fan = self.fan
        return self.awaiting and (fan.assigned_to_id == user.pk or fan.held_by_id == user.pk or self.awaits_anyone)


def _conversation_sql(n: int) -> str:
    """Per fan: the newest message, when our last message went out, when the fan's unanswered run began (the
    first of their messages after ours), this person's read mark, open drafts, unread messages, and whether a
    person wrote since the handover (the next-response target then applies). Plain SQL: the inbox asks this for a
    few fans on every live poll, and building the same query through the ORM cost ~10 ms each time."""
    msg, mark, draft, fan = (m._meta.db_table for m in (Message, ReadMark, Draft, Fan))
    newest_out = f"SELECT o.ts FROM {msg} o WHERE o.fan_id = f.id AND o.direction = %(out)s"
    newest_out += " ORDER BY o.ts DESC, o.id DESC LIMIT 1"
    first_in = f"SELECT i.ts FROM {msg} i WHERE i.fan_id = f.id AND i.direction = %(in)s"
    read_to = f"SELECT r.message_id FROM {mark} r WHERE r.fan_id = f.id AND r.user_id = %(user)s"
    ids = ", ".join(f"%(f{i})s" for i in range(n))
    return f"""SELECT f.id,
        (SELECT m.id FROM {msg} m WHERE m.fan_id = f.id ORDER BY m.ts DESC, m.id DESC LIMIT 1),
        ({newest_out}),
        COALESCE(({first_in} AND i.ts > ({newest_out}) ORDER BY i.ts, i.id LIMIT 1),
                 ({first_in} ORDER BY i.ts, i.id LIMIT 1)),
        ({read_to}),
        (SELECT COUNT(*) FROM {draft} d WHERE d.fan_id = f.id AND d.status = %(open)s),
        (SELECT COUNT(*) FROM {msg} u WHERE u.fan_id = f.id AND u.direction = %(in)s
                AND u.id > COALESCE(({read_to}), 0)),
        EXISTS(SELECT 1 FROM {msg} h WHERE h.fan_id = f.id AND h.direction = %(out)s AND h.by_human
               AND h.ts >= COALESCE(f.needs_human_since, f.created_ts))
        FROM {fan} f WHERE f.id IN ({ids})"""


def _when(value) -> datetime | None:
    """A timestamp from plain SQL: aware already (PostgreSQL) or UTC text (SQLite)."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value)
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed


def _annotated(user, fans, pks: list[int]) -> list[Fan]:
    """The fans of `pks` among `fans` (the person's scope) with what their rows need (see _conversation_sql),
    the list's joins, and none of the fan's big fields; a fan with no message yet is left out."""
    if not pks:
        return []
    params = {"out": Message.Direction.OUT, "in": Message.Direction.IN, "open": Draft.Status.OPEN, "user": user.pk}
    params.update({f"f{i}": pk for i, pk in enumerate(pks)})
    with connection.cursor() as cursor:
        cursor.execute(_conversation_sql(len(pks)), params)
        found = {row[0]: row[1:] for row in cursor.fetchall() if row[1] is not None}
    fans = list(
        fans.filter(pk__in=found)
        .select_related("creator", "held_by", "assigned_to")
        .defer("signals", "content_sent", "notes")
    )
    for fan in fans:
        last_id, last_out, since, read_to, drafts, unread, answered = found[fan.pk]
        fan.last_id, fan.last_out_ts, fan.unanswered_since = last_id, _when(last_out), _when(since)
        fan.read_to, fan.open_drafts, fan.unread, fan.human_answered = read_to, drafts, unread, bool(answered)
    return fans


def candidates(fans, user):
    """The fans the inbox looks at: the CANDIDATES most recently active, and every one who needs a person, is
    held by or assigned to this person, or has an open draft."""
    wanted = Q(pk__in=Subquery(fans.order_by("-last_interaction_ts").values("pk")[:CANDIDATES]))
    wanted |= needs_a_human() | Q(held_by=user) | Q(assigned_to=user) | Q(drafts__status=Draft.Status.OPEN)
    return fans.filter(wanted)


def conversations(
    user, *, creator_id: int | None = None, show: str = "", limit: int = ROWS, only: set[int] | None = None
) -> list[Row]:
    """The inbox's rows for `user`, most urgent first (Row.priority), filtered by `show` (FILTERS); `only`:
    just these fans (the live feed's changed rows)."""
    fans = scope.limit(Fan.objects.all(), user, "creator_id")
    if creator_id:
        fans = fans.filter(creator_id=creator_id)
    pks = list(only) if only is not None else list(candidates(fans, user).values_list("pk", flat=True).distinct())
    fans = _annotated(user, fans, pks)
    last = {
        m.pk: m for m in Message.objects.filter(pk__in=[f.last_id for f in fans]).only("id", "direction", "text", "ts")
    }
    rows = []
    for fan in fans:
        msg = last.get(fan.last_id)
        last_in = msg is not None and msg.direction == Message.Direction.IN
        row = Row(
            fan=fan,
            last_text=(msg.text if msg else "")[:140],
            last_in=last_in,
            last_ts=msg.ts if msg else None,
            waiting_since=fan.unanswered_since if last_in else None,
            unread=fan.unread,
            drafts=fan.open_drafts or 0,
        )
        row.needs_human = bool(fan.safety_flag or fan.state == "handed_off")
        row.target = target_state(row)
        row.badges = badges(fan, user, row.drafts)
        row.awaiting_me = row.awaits(user)
        rows.append(row)
    now = timezone.now()
    keep = {
        "human": lambda r: r.needs_human,
        "mine": lambda r: (
            r.fan.assigned_to_id == user.pk
            or (r.fan.held_by_id == user.pk and bool(r.fan.human_hold_until and r.fan.human_hold_until > now))
        ),
        "breached": lambda r: bool(r.target and r.target["state"] == "breached"),
        "drafts": lambda r: r.drafts > 0,
        "unread": lambda r: r.unread > 0,
    }.get(show)
    if keep is not None:
        rows = [r for r in rows if keep(r)]
    rows.sort(key=lambda r: r.priority)
    return rows[:limit]


def target_state(row: Row) -> dict | None:
    """Where a waiting conversation stands against the creator's response target: within, due soon (the last
    fifth, or the last minute) or breached; None when no person owes the fan an answer."""
    if not (row.needs_human and row.awaiting and row.waiting_since):
        return None
    creator = row.fan.creator
    minutes = creator.next_response_minutes if row.fan.human_answered else creator.first_response_minutes
    target_s = 60 * minutes
    deadline = row.waiting_since.timestamp() + target_s  # inbox.js moves the label on from here, in the browser
    left = target_s - (timezone.now() - row.waiting_since).total_seconds()
    clock = {"deadline": int(deadline), "minutes": minutes}
    if left < 0:
        return {"state": "breached", "label": f"target {minutes} min: breached by {_dur(-left)}", **clock}
    if left < max(60, target_s / 5):
        return {"state": "soon", "label": f"due in {_dur(left)}", **clock}
    return {"state": "within", "label": f"{_dur(left)} left", **clock}


def _dur(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def badges(fan, user, drafts: int = 0) -> list[tuple[str, str]]:
    """Safety (nobody sells) apart from a sale a person must make, apart from who holds the fan. `user` None:
    as someone who neither holds nor is assigned the fan sees them (the live feed's shared rows)."""
    out = []
    kind = handoff_kind(fan)
    if kind == "safety":
        out.append(("safety", f"⚠ safety: {handoff_label(fan) or 'flagged'}"))
    elif kind == "sale":
        out.append(("sale", f"needs a human: {handoff_label(fan)}"))
    elif kind == "staff":
        out.append(("sale", "handed off by staff"))
    if fan.human_hold_until and fan.human_hold_until > timezone.now():
        who = (
            "you"
            if fan.held_by_id is not None and fan.held_by_id == getattr(user, "pk", None)
            else (str(fan.held_by) if fan.held_by_id else "the platform's UI")
        )
        out.append(("held", f"held by {who}"))
    if fan.assigned_to_id:
        out.append(
            (
                "assigned",
                "yours" if fan.assigned_to_id == getattr(user, "pk", None) else f"assigned to {fan.assigned_to}",
            )
        )
    if drafts:
        out.append(("draft", f"{drafts} draft{'s' if drafts > 1 else ''}"))
    if fan.whale_score >= 3:
        out.append(("whale", f"whale {fan.whale_score}"))
    if fan.opted_out:
        out.append(("muted", "opted out"))
    return out


def awaiting_count(user, rows: list[Row] | None = None) -> int:
    """Conversations awaiting this person: a fan assigned to them, or whom they hold, or who needs a person and
    is nobody's yet, or whose mode is off, wrote last. `rows`: the unfiltered list, when the caller has it."""
    rows = conversations(user, limit=1000) if rows is None else rows
    return sum(1 for r in rows if r.awaits(user))


# --- one conversation -----------------------------------------------------------------------------


@dataclass
class Bubble:
    id: int
    mine: bool  # ours (right) or the fan's (left)
    text: str
    ts: datetime
    who: str = ""
    ppv: dict | None = None  # content, price, fate


def _who(action: Action | None, message: Message) -> str:
    if action is None:
        return "a person in the platform's UI" if message.by_human else "bot"
    if action.review:
        return f"draft {action.review} by {action.sent_by or 'a person'}"
    if action.source == Action.Source.STAFF:
        return str(action.sent_by or "a team member")
    if action.source == Action.Source.HUMAN:
        return "a person in the platform's UI"
    return {"rules": "bot · rules", "llm": "bot · LLM", "import": "imported"}.get(action.source, action.source)


def bubbles(fan, limit: int = BUBBLES) -> list[Bubble]:
    """The latest `limit` messages in chat order (oldest at the top, newest at the bottom)."""
    msgs = list(fan.messages.order_by("-ts", "-id")[:limit])[::-1]
    ids = [m.platform_message_id for m in msgs if m.direction == Message.Direction.OUT and m.platform_message_id]
    actions = (
        {
            a.platform_message_id: a
            for a in Action.objects.filter(fan=fan, platform_message_id__in=ids).select_related("sent_by")
        }
        if ids
        else {}
    )
    out = []
    for m in msgs:
        mine = m.direction == Message.Direction.OUT
        action = actions.get(m.platform_message_id) if mine else None
        ppv = None
        if action is not None and action.action == Action.Kind.PPV:
            fate = "bought ✓" if action.purchased else "ghosted" if action.ghosted else "not bought yet"
            ppv = {"content": action.content_key, "price": action.price, "fate": fate, "bought": action.purchased}
        elif action is not None and action.content_key:
            ppv = {"content": action.content_key, "price": None, "fate": "free", "bought": False}
        out.append(Bubble(m.pk, mine, m.text, m.ts, _who(action, m) if mine else "", ppv))
    return out


def newest_fan_message_id(fan) -> int:
    return fan.messages.filter(direction=Message.Direction.IN).order_by("-id").values_list("id", flat=True).first() or 0


def mark_read(user, fan) -> None:
    """Read first, write only when the mark is behind: every open tab calls this on each live poll, and a write
    per poll would queue behind the bot's own writes (SQLite has one writer)."""
    newest = fan.messages.order_by("-id").values_list("id", flat=True).first() or 0
    mark = ReadMark.objects.filter(user=user, fan=fan).values_list("message_id", flat=True).first()
    if mark is None:
        ReadMark.objects.get_or_create(user=user, fan=fan, defaults={"message_id": newest})
    elif mark < newest:
        ReadMark.objects.filter(user=user, fan=fan, message_id__lt=newest).update(message_id=newest)


def vault(fan) -> list[dict]:
    """The composer's picker: every item with its kind, description, listed price and this fan's marks."""
    sent = set(fan.content_sent or [])
    bought = set(
        Action.objects.filter(fan=fan, purchased=True).exclude(content_key="").values_list("content_key", flat=True)
    )
    return [
        {
            "key": v.content_key,
            "kind": v.kind,
            "description": v.description,
            "price": v.default_price,
            "sent": v.content_key in sent,
            "bought": v.content_key in bought,
            "ready": bool(v.media_ids),
        }
        for v in fan.creator.vault_items.all()
    ]


def saved_replies(fan) -> list[dict]:
    """The creator's templates and the team's snippets, {name} filled with the fan's name ("/" in the composer)."""
    name = fan.name or "babe"
    out = [
        {"title": s.title, "text": s.text.replace("{name}", name)}
        for s in Snippet.objects.filter(Q(creator=fan.creator) | Q(creator__isnull=True))
    ]
    for t in fan.creator.templates.all():
        for i, variant in enumerate(t.variants or []):
            text = str(variant).replace("{name}", name)
            if "{" not in text:  # a template that needs an offer's price is the bot's, not a saved reply
                out.append({"title": f"{t.kind} {i + 1}", "text": text})
    return out


def panel(fan) -> dict:
    """The fan beside the chat: state and why, money, subscription, facts, notes, purchases, holds."""
    last_move = fan.transitions.order_by("-ts", "-id").first()
    spent_24h = spent_last_24h(fan)
    cap = fan.creator.daily_spend_cap
    tips = Outcome.objects.filter(fan=fan, event=Outcome.Event.TIPPED).values_list("amount", flat=True)
    return {
        "kind": handoff_kind(fan),
        "reason": handoff_label(fan),
        "state_why": last_move.reason if last_move else "",
        "spent_24h": spent_24h,
        "cap": cap,
        "capped": bool(cap and cap > 0 and spent_24h >= cap),
        "tips": sum(tips, Decimal("0")),
        "facts": list(facts.ordered(fan)[:12]),
        "purchases": purchases(fan, 10),
        "mode": autonomy.mode(fan.creator, fan),
        "fan_mode": fan.autonomy,
        "held": fan.human_hold_until if fan.human_hold_until and fan.human_hold_until > timezone.now() else None,
        "clearances": list(SafetyClearance.objects.filter(fan=fan).select_related("by_user")[:3]),
    }


def unhealthy_accounts(user) -> list:
    """Creators in the person's scope whose platform session is down: their sends wait until it reconnects."""
    creators = scope.limit(Creator.objects.exclude(account_health=AccountHealth.OK), user, "pk")
    return list(creators.only("slug", "display_name", "account_health", "account_health_since"))
