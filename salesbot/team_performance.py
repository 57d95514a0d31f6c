"""Sales credit per sender: who sent what and what it earned, bot (rules, LLM) or a named person.

A purchase belongs to the PPV it unlocked and a tip to the last message before it (learning.attribution);
the credit goes to that message's sender: a person's console message and an edited bot draft credit the
person; a bot draft approved as is still credits the bot (the approver is counted under drafts). Money no
message answers is its own row, so the rows add up to the creator's revenue."""

from collections import defaultdict
from statistics import median

from django.db.models import Count, Q, Sum

from learning import bayes
from learning.models import Action, Outcome
from learning.stats.cells import COUNTED_STATUSES
from salesbot.models import Draft
from salesbot.periods import MONEY

UNATTRIBUTED = "unattributed (no message before it)"


def credited_to_person(via: str = "") -> Q:
    """A person's own sale (sender_of's "person" from the team): their console message or their edited draft; a
    bot draft approved as drafted stays the bot's. `via`: the path to the Action ("action__" from an Outcome)."""
    return Q(**{f"{via}source": Action.Source.STAFF}) | Q(**{f"{via}review": "edited"})


def sender_of(source: str, review: str, username: str | None) -> tuple[str, str]:
    """(sender, kind) of an action: kind is bot, person or history."""
    if source == Action.Source.STAFF or review == "edited":
        return username or "a team member", "person"
    if source == Action.Source.HUMAN:
        return "a human in the platform's UI", "person"
    if source == Action.Source.IMPORT:
        return "imported history", "history"
    return f"bot ({source})", "bot"


def _row(sender, kind):
    return {
        "sender": sender,
        "kind": kind,
        "messages": 0,
        "ppv_sent": 0,
        "ppv_bought": 0,
        "revenue": 0.0,
        "response_times": [],
        "drafts_approved": 0,
        "drafts_edited": 0,
        "drafts_rejected": 0,
    }


def by_sender(creator_ids, period=None, history: bool = True) -> dict:
    """Per sender over the given creators (a list of ids), within `period` (salesbot.periods; None: all time).
    `history` False leaves imported history out of the rows and the total (its money is reported apart)."""
    rows: dict[str, dict] = {}

    def row(sender, kind):
        return rows.setdefault(sender, _row(sender, kind))

    actions = Action.objects.filter(creator_id__in=creator_ids, status__in=COUNTED_STATUSES).exclude(
        action=Action.Kind.SKIP
    )
    money = Outcome.objects.filter(creator_id__in=creator_ids, event__in=MONEY)
    decided = Draft.objects.filter(creator_id__in=creator_ids, decided_by__isnull=False)
    if period is not None:
        actions, money, decided = (
            actions.filter(period.q()),
            money.filter(period.q()),
            decided.filter(period.q("decided_at")),
        )
    imported = money.filter(import_key__isnull=False)
    history_revenue = float(imported.aggregate(t=Sum("amount"))["t"] or 0)
    if not history:
        actions, money = actions.exclude(source=Action.Source.IMPORT), money.filter(import_key__isnull=True)
    for g in (
        actions.values("source", "review", "sent_by__username")
        .order_by()
        .annotate(
            n=Count("id"),
            ppv=Count("id", filter=Q(action=Action.Kind.PPV)),
            bought=Count("id", filter=Q(action=Action.Kind.PPV, purchased=True)),
        )
    ):
        r = row(*sender_of(g["source"], g["review"], g["sent_by__username"]))
        r["messages"] += g["n"]
        r["ppv_sent"] += g["ppv"]
        r["ppv_bought"] += g["bought"]
    times = defaultdict(list)
    for source, review, username, t in actions.filter(response_time_s__isnull=False).values_list(
        "source", "review", "sent_by__username", "response_time_s"
    ):
        times[sender_of(source, review, username)].append(t)
    for key, values in times.items():
        row(*key)["response_times"] = values
    for g in (
        money.values("action__source", "action__review", "action__sent_by__username")
        .order_by()
        .annotate(total=Sum("amount"))
    ):
        if g["action__source"] is None:
            key = (UNATTRIBUTED, "none")
        else:
            key = sender_of(g["action__source"], g["action__review"], g["action__sent_by__username"])
        row(*key)["revenue"] += float(g["total"] or 0)
    for g in decided.values("decided_by__username", "status").order_by().annotate(n=Count("id")):
        field = {"approved": "drafts_approved", "edited": "drafts_edited", "rejected": "drafts_rejected"}.get(
            g["status"]
        )
        if field:
            row(g["decided_by__username"], "person")[field] += g["n"]
    total = float(money.aggregate(t=Sum("amount"))["t"] or 0)
    return {
        "by": "sender",
        "revenue": round(total, 2),
        "history_revenue": round(history_revenue, 2),
        "history_included": history,
        "period": period.key if period else "all",
        "senders": sorted((_finish(r) for r in rows.values()), key=lambda r: -r["revenue"]),
    }


def _finish(r: dict) -> dict:
    times = r.pop("response_times")
    r["median_response_s"] = round(median(times), 1) if times else None
    r["revenue"] = round(r["revenue"], 2)
    r["revenue_per_message"] = round(r["revenue"] / r["messages"], 2) if r["messages"] else None
    if r["ppv_sent"]:
        a, b = bayes.posterior(r["ppv_sent"], r["ppv_bought"])
        lo, hi = bayes.interval(a, b)
        r["ppv_conversion"] = round(r["ppv_bought"] / r["ppv_sent"], 3)
        r["ppv_conversion_ci90"] = [round(lo, 3), round(hi, 3)]
    else:
        r["ppv_conversion"], r["ppv_conversion_ci90"] = None, None
    return r
