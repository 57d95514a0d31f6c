"""The inbox's live feed, cheap per open tab: a one-query stamp says whether anything landed; when it did, each
row's version (one query over the fans concerned) picks its rendered HTML from the shared cache, and only rows
that moved since anyone looked are read and rendered again. A row is rendered once per version for everyone,
however many people and tabs poll, and each person's own marks (unread count, "yours", "held by you", awaiting
them) go into it as a few string swaps, so the feed's cost follows the changes, not the tabs or the team
(docs/benchmarks.md, "Live inbox tabs"). The rows themselves are salesbot.inbox.selectors.conversations; this
module only decides which to read again."""

import hashlib
import time
from dataclasses import dataclass, replace

from django.core.cache import caches
from django.db import connection
from django.template.loader import get_template
from django.utils import timezone
from django.utils.html import escape

from fans.models import Fan, FanTransition, Message, SafetyClearance
from learning.models import Action
from models_registry.models import Creator
from salesbot.inbox import selectors
from salesbot.models import Draft, ReadMark
from team import scope

WATCH_TTL = 10  # seconds a person's right to watch the feed is taken as known (every poll of every tab asks)
DELTA_MAX = 80  # more changed fans than this since the last look (a list holds ROWS): the whole list again
ROW_TTL = 120  # seconds a rendered row stays in the cache (versions make it stale long before)


def may_watch(user) -> bool:
    """The feed's access check (fans.view_fan), kept WATCH_TTL seconds: a person's rights are two queries, and
    each of their tabs polls every 1.5 s. A person whose rights are withdrawn gets no new rows within
    WATCH_TTL; a deactivated user at once (their session no longer authenticates)."""
    key = f"inbox-may:{user.pk}"
    known = caches["inbox"].get(key)
    if known is None:
        known = user.has_perm("fans.view_fan")
        caches["inbox"].set(key, known, WATCH_TTL)
    return known


def stamp(user) -> str:
    """Changes whenever a message, a send, a draft, a move or a clearance lands anywhere (one cheap query of
    indexed maxima): the live view re-renders only then."""
    tables = [m._meta.db_table for m in (Message, Action, FanTransition, Draft, SafetyClearance)]
    fans = Fan._meta.db_table
    sql = "SELECT " + ", ".join(f"(SELECT MAX(id) FROM {t})" for t in tables)
    sql += (
        f", (SELECT COUNT(*) FROM {Draft._meta.db_table} WHERE status = %s)"
        f", (SELECT COUNT(*) FROM {fans} WHERE human_hold_until > %s)"
        f", (SELECT COUNT(*) FROM {fans} WHERE assigned_to_id IS NOT NULL)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Draft.Status.OPEN, timezone.now()])
        values = cursor.fetchone()
    return "-".join(str(v or 0) for v in values)


def changed_fans(old: str, new: str) -> set[int] | None:
    """The fans whose rows may have changed between two stamps (new messages, sends, moves), or None when the
    whole list must be read again (a draft decided, a hold or an assignment changed, a clearance, more than
    DELTA_MAX fans, or an unreadable stamp). Time passing changes no row: the browser moves the clocks."""
    try:
        before, after = [int(v) for v in old.split("-")], [int(v) for v in new.split("-")]
    except ValueError:
        return None
    if len(before) != len(after) or before[3:] != after[3:]:
        return None
    parts, params = [], []
    for model, was, now in zip((Message, Action, FanTransition), before[:3], after[:3], strict=True):
        if now > was:
            parts.append(f"SELECT fan_id FROM {model._meta.db_table} WHERE id > %s")
            params.append(was)
    if not parts:
        return set()
    with connection.cursor() as cursor:  # plain SQL: asked on every live poll
        cursor.execute(" UNION ".join(parts) + f" LIMIT {DELTA_MAX + 1}", params)
        pks = {row[0] for row in cursor.fetchall()}
    return None if len(pks) > DELTA_MAX else pks


# --- versions: what a row (or the open conversation) shows has changed iff its version has -----------------

_FAN_COLUMNS = (
    "state",
    "safety_flag",
    "handoff_reason",
    "held_by_id",
    "assigned_to_id",
    "opted_out",
    "autonomy",
    "whale_score",
    "total_spent",
    "name",
    "needs_human_since",
)
_CREATOR_COLUMNS = ("autonomy", "first_response_minutes", "next_response_minutes", "display_name")
READ_TO, UNREAD = 4, -1  # the person's own places in a version: their read mark, their unread count


def versions(user, pks, *, creator_id: int | None = None) -> dict[int, tuple]:
    """Each fan's version among `pks` in the person's scope (and creator): its newest message, send, move,
    open drafts, this person's read mark, whether a hold is on, the fields its row and panel show, and last
    this person's unread count. A fan with no message yet is left out (the inbox lists conversations)."""
    pks = [int(pk) for pk in pks]
    if not pks:
        return {}
    fan, creator, msg = Fan._meta.db_table, Creator._meta.db_table, Message._meta.db_table
    newest = [
        f"(SELECT MAX(x.id) FROM {model._meta.db_table} x WHERE x.fan_id = f.id)"
        for model in (Message, Action, FanTransition)
    ]
    read_to = f"(SELECT r.message_id FROM {ReadMark._meta.db_table} r WHERE r.fan_id = f.id AND r.user_id = %s)"
    sql = (
        "SELECT f.id, "
        + ", ".join(newest)
        + f", (SELECT COUNT(*) FROM {Draft._meta.db_table} d WHERE d.fan_id = f.id AND d.status = %s)"
        + f", {read_to}, LENGTH(f.notes), CASE WHEN f.human_hold_until > %s THEN 1 ELSE 0 END, "
        + ", ".join(f"f.{Fan._meta.get_field(c.removesuffix('_id')).column}" for c in _FAN_COLUMNS)
        + ", "
        + ", ".join(f"c.{c}" for c in _CREATOR_COLUMNS)
        + f", (SELECT COUNT(*) FROM {msg} u WHERE u.fan_id = f.id AND u.direction = %s"
        + f" AND u.id > COALESCE({read_to}, 0))"
        + f" FROM {fan} f JOIN {creator} c ON c.id = f.creator_id WHERE f.id IN ({', '.join(['%s'] * len(pks))})"
    )
    params: list = [Draft.Status.OPEN, user.pk, timezone.now(), Message.Direction.IN, user.pk, *pks]
    ids = scope.creator_ids(user)
    if ids is not scope.ALL:
        if not ids:
            return {}
        sql += f" AND f.creator_id IN ({', '.join(['%s'] * len(ids))})"
        params += sorted(ids)
    if creator_id:
        sql += " AND f.creator_id = %s"
        params.append(creator_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return {row[0]: tuple(row[1:]) for row in found if row[1] is not None}


def fan_stamp(user, fan_pk: int, known: dict[int, tuple] | None = None) -> tuple[str, bool]:
    """Changes when anything on one conversation's screen does (its messages, sends, moves, hold, assignment,
    notes): the live view re-renders the open conversation only then, however busy the rest of the inbox is.
    Also says whether this person has read it to the newest message. ("0", True): not in scope or no message
    yet (the caller then looks the fan up properly)."""
    version = (versions(user, [fan_pk]) if known is None else known).get(fan_pk)
    if version is None:
        return "0", True
    newest, read_to = version[0], version[READ_TO]
    return _digest(version[:READ_TO] + version[READ_TO + 1 : UNREAD]), read_to is not None and read_to >= newest


def _digest(value) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=8).hexdigest()


# --- rows: rendered once per version for everyone, the person's marks swapped in -----------------------


@dataclass(frozen=True)
class Entry:
    """A rendered row and what the list needs to filter, sort and count it without reading the fan again. As
    cached it is everyone's (`html` holds markers where the person's own marks go); `personal` fills them in."""

    html: str
    creator_id: int
    group: int
    since: float  # when the unanswered run began (epoch s), 0 when nobody owes the fan an answer
    value: float
    last: float
    needs_human: bool
    drafts: int
    deadline: float  # the response target's (epoch s), 0 when none runs
    awaiting: bool  # the fan wrote last: somebody owes them an answer
    awaits_anyone: bool  # ...and it is anyone's to give (needs a person and is nobody's yet, or the mode is off)
    held_by_id: int | None = None
    hold_on: bool = False
    held_label: str = ""  # "held by NAME" as anyone but NAME sees it
    assigned_to_id: int | None = None
    assigned_label: str = ""
    unread: int = 0  # the rest: this person's, set by personal()
    awaiting_me: bool = False
    mine: bool = False

    def priority(self, now: float) -> tuple:
        """selectors.Row.priority, from the cached figures."""
        return (self.group, -(now - self.since) * self.value if self.since else 0.0, -self.last)

    def shown(self, show: str) -> bool:
        """selectors.FILTERS, applied to the cached figures."""
        return {
            "human": self.needs_human,
            "mine": self.mine,
            "breached": 0 < self.deadline < time.time(),
            "drafts": self.drafts > 0,
            "unread": self.unread > 0,
        }.get(show, True)

    def personal(self, user_pk: int, unread: int) -> "Entry":
        """This row as `user_pk` sees it: selectors.Row.awaits and the template's per-person parts, from the
        shared row (a few string swaps, no query, no render)."""
        held_me, assigned_me = self.held_by_id == user_pk, self.assigned_to_id == user_pk
        awaiting_me = self.awaits_anyone or (self.awaiting and (held_me or assigned_me))
        marks = {
            "<!--unread-class-->": " unread" if unread else "",
            "<!--unread-count-->": f'<span class="unread-count" title="unread">{unread}</span>' if unread else "",
            "<!--awaiting-me-->": "1" if awaiting_me else "0",
            "<!--held-->": "held by you" if held_me else escape(self.held_label),
            "<!--assigned-->": "yours" if assigned_me else escape(self.assigned_label),
        }
        html = self.html
        for marker, value in marks.items():
            html = html.replace(marker, value)
        mine = assigned_me or (held_me and self.hold_on)
        return replace(self, html=html, unread=unread, awaiting_me=awaiting_me, mine=mine)


def _entry(row, query) -> Entry:
    """Everyone's row: rendered with the markers, and as seen by nobody in particular (selectors.badges)."""
    fan, now = row.fan, timezone.now()
    row.badges = selectors.badges(fan, None, row.drafts)
    labels = dict(row.badges)
    html = get_template("admin/inbox/_row.html").render({"r": row, "current": None, "query": query, "shared": True})
    return Entry(
        html=html,
        creator_id=fan.creator_id,
        group=row.group,
        since=row.waiting_since.timestamp() if row.awaiting and row.waiting_since else 0.0,
        value=row.value,
        last=row.last_ts.timestamp() if row.last_ts else 0.0,
        needs_human=row.needs_human,
        drafts=row.drafts,
        deadline=float(row.target["deadline"]) if row.target else 0.0,
        awaiting=row.awaiting,
        awaits_anyone=row.awaits_anyone,
        held_by_id=fan.held_by_id,
        hold_on=bool(fan.human_hold_until and fan.human_hold_until > now),
        held_label=labels.get("held", ""),
        assigned_to_id=fan.assigned_to_id,
        assigned_label=labels.get("assigned", ""),
    )


def _row_version(version: tuple) -> tuple:
    """What everyone's row shows moves with the fan's messages and fields, not with its sends' or moves' own rows
    (their effects are the OUT message and the fan's state), nor with anyone's read mark: fewer versions, so
    fewer renders per reply."""
    return version[:1] + version[3:READ_TO] + version[READ_TO + 1 : UNREAD]


def entries(
    user, pks, *, query: str = "", creator_id: int | None = None, known: dict[int, tuple] | None = None
) -> dict[int, Entry]:
    """The rows of `pks` (in scope, with messages) as this person sees them, each from the cache when its
    version is known, else read and rendered once (selectors.conversations) for everyone. Rows carry no
    "current" mark (inbox.js sets it), so every tab shares them."""
    if known is not None and creator_id is None:  # the caller asked these versions already (with others)
        found = {pk: known[pk] for pk in pks if pk in known}
    else:
        found = versions(user, pks, creator_id=creator_id)
    place = _digest(query)
    keys = {pk: f"inbox-row:{pk}:{_digest(_row_version(v))}:{place}" for pk, v in found.items()}
    cached = caches["inbox"].get_many(list(keys.values()))
    shared = {pk: cached[key] for pk, key in keys.items() if key in cached}
    missing = set(keys) - set(shared)
    if missing:
        fresh = {}
        for row in selectors.conversations(user, only=missing, limit=len(missing)):
            shared[row.fan.pk] = fresh[keys[row.fan.pk]] = _entry(row, query)
        caches["inbox"].set_many(fresh, ROW_TTL)
    return {pk: entry.personal(user.pk, found[pk][UNREAD]) for pk, entry in shared.items()}


def changed_rows(user, pks, *, query="", show="", creator_id=None, known=None) -> dict[int, str | None]:
    """The live feed's changed rows: each fan's row HTML, or None where it left the list (filtered out, out of
    scope); the page sorts and counts them. `known`: versions the caller already has (see `entries`)."""
    got = entries(user, pks, query=query, creator_id=creator_id, known=known)
    return {pk: got[pk].html if pk in got and got[pk].shown(show) else None for pk in pks}


def listing(user, *, query="", show="", creator_id=None) -> tuple[list[Entry], int]:
    """The whole list again (selectors.conversations' candidates, most urgent first, ROWS of them) and the
    number of conversations awaiting this person (whatever the filters), from the rows' cached figures."""
    fans = scope.limit(Fan.objects.all(), user, "creator_id")
    pks = list(selectors.candidates(fans, user).values_list("pk", flat=True).distinct())
    got = entries(user, pks, query=query).values()
    now = time.time()
    rows = sorted(
        (e for e in got if e.shown(show) and (not creator_id or e.creator_id == creator_id)),
        key=lambda e: e.priority(now),
    )
    return rows[: selectors.ROWS], sum(1 for e in got if e.awaiting_me)
