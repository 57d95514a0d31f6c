"""Drafts of `approve` mode: the worker's decision waits for a person. Approving sends it through the one
sender (last gate, idempotency key, books) exactly once, however often it is clicked; editing is checked by
the same offer rules and price bounds first; rejecting keeps the reason. A newer draft for the fan, or a
message from the fan after the draft, supersedes it (the bot answers the latest state)."""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fans.models import Message
from learning.models import Action
from salesbot.models import Draft, LLMCall
from salesbot.pipeline import queue, sender
from salesbot.pipeline.contact import DRAFT
from salesbot.pipeline.decisions import Decision
from salesbot.providers.base import PlatformError

log = logging.getLogger(__name__)

# The worker's priority (salesbot.pipeline.queue.PRIORITY): spend, whale score, then the longest wait.
URGENT_FIRST = ["-fan__total_spent", "-fan__whale_score", "waiting_since", "id"]
EDITABLE = ("text", "content_key", "price")


class DraftError(Exception):
    """The draft cannot be approved as asked; the message says why (shown to the person)."""


def propose(creator, fan, decision: Decision, waiting_since) -> Draft | Action:
    """Instead of a send: a draft (older open drafts of the fan are superseded). A decision the last gate
    would refuse is logged as refused at once, as in autopilot: nobody is asked to approve it."""
    why = sender.refusal(
        creator,
        fan,
        decision.action,
        text=decision.text,
        content_key=decision.content_key,
        price=decision.price,
        writer=DRAFT,
    )
    if why:
        return sender.record(creator, fan, decision, why)
    with transaction.atomic():
        Draft.objects.filter(fan=fan, status=Draft.Status.OPEN).update(
            status=Draft.Status.SUPERSEDED, decided_at=timezone.now()
        )
        return Draft.objects.create(
            creator=creator,
            fan=fan,
            waiting_since=waiting_since,
            action=decision.action,
            text=decision.text,
            content_key=decision.content_key,
            price=decision.price,
            hook=decision.hook,
            reason=decision.reason[:300],
            route=decision.route,
            source=decision.source,
            extra=decision.extra,
        )


def open_drafts(creator_ids=None):
    """Open drafts, most urgent first; `creator_ids` None means every creator (team.scope)."""
    qs = Draft.objects.filter(status=Draft.Status.OPEN).select_related("fan", "creator").order_by(*URGENT_FIRST)
    return qs if creator_ids is None else qs.filter(creator_id__in=creator_ids)


def last_messages(fan, n=6) -> list[Message]:
    return list(reversed(fan.messages.order_by("-ts", "-id")[:n]))


def stale(draft: Draft) -> bool:
    """The fan wrote after the draft was made: it answers an old state."""
    return draft.fan.messages.filter(direction=Message.Direction.IN, ts__gt=draft.created_at).exists()


def cleaned_edits(draft: Draft, edits: dict | None) -> dict:
    """The edited fields that differ from the draft (already typed by the caller's form or serializer)."""
    out = {}
    for name in EDITABLE:
        if not edits or edits.get(name) in (None, ""):
            continue
        if edits[name] != getattr(draft, name):
            out[name] = edits[name]
    return out


def approve(draft: Draft, user, edits: dict | None = None) -> Action:
    """Send the draft (edited if `edits` change it) as `user`'s approval; raises DraftError when it cannot go."""
    changes = cleaned_edits(draft, edits)
    fields = {name: changes.get(name, getattr(draft, name)) for name in EDITABLE}
    if draft.status != Draft.Status.OPEN:
        raise DraftError(f"this draft is already {draft.get_status_display()}")
    if stale(draft):
        supersede(draft)
        raise DraftError("the fan wrote again since this draft: the bot drafts a new answer")
    why = sender.refusal(draft.creator, draft.fan, draft.action, writer=DRAFT, **fields)
    if why:
        raise DraftError(why)
    status = Draft.Status.EDITED if changes else Draft.Status.APPROVED
    now = timezone.now()
    with transaction.atomic():  # the claim and the Action together: an error leaves the draft open
        action = _claim_and_prepare(draft, user, status, now, fields, changes, why)
    draft.status, draft.decided_by, draft.decided_at, draft.sent_action = status, user, now, action
    if draft.extra.get("llm_call_id"):
        LLMCall.objects.filter(pk=draft.extra["llm_call_id"]).update(action=action)
    send_now(action)
    return action


def _claim_and_prepare(draft, user, status, now, fields, changes, why) -> Action:
    # The one claim: a second click (or a second person) finds the draft no longer open and sends nothing.
    if not Draft.objects.filter(pk=draft.pk, status=Draft.Status.OPEN).update(
        status=status, decided_by=user, decided_at=now
    ):
        draft.refresh_from_db()
        raise DraftError(f"this draft is already {draft.get_status_display()}")
    decision = Decision(
        draft.action,
        text=fields["text"],
        content_key=fields["content_key"],
        price=fields["price"],
        hook=draft.hook,
        reason=draft.reason,
        route=draft.route,
        source=draft.source,
        extra={
            **draft.extra,
            "draft_id": draft.pk,
            **({"drafted": {k: str(getattr(draft, k)) for k in changes}} if changes else {}),
        },
    )
    action = sender.record(
        draft.creator,
        draft.fan,
        decision,
        why,
        by=user,
        review=status,
        response_time_s=round((now - draft.waiting_since).total_seconds(), 3),
    )
    Draft.objects.filter(pk=draft.pk).update(sent_action=action)
    return action


def send_now(action: Action) -> Action:
    """Deliver a person's action at once; a platform hiccup hands it to the queue's one retry layer."""
    if action.status != Action.Status.PENDING:
        return action
    try:
        sender.deliver(action)
    except PlatformError as e:
        if e.transient:
            queue.retry_action(action, e)
        log.warning("send of action %s for fan %s: %s", action.pk, action.fan.fan_id, e)
    return action


def reject(draft: Draft, user, reason: str) -> Draft:
    reason = " ".join((reason or "").split())[:300]
    if not reason:
        raise DraftError("a rejection needs a reason")
    if not Draft.objects.filter(pk=draft.pk, status=Draft.Status.OPEN).update(
        status=Draft.Status.REJECTED, decided_by=user, decided_at=timezone.now(), reject_reason=reason
    ):
        draft.refresh_from_db()
        raise DraftError(f"this draft is already {draft.get_status_display()}")
    draft.refresh_from_db()
    return draft


def supersede(draft: Draft) -> None:
    Draft.objects.filter(pk=draft.pk, status=Draft.Status.OPEN).update(
        status=Draft.Status.SUPERSEDED, decided_at=timezone.now()
    )
    draft.status = Draft.Status.SUPERSEDED


def supersede_for_fan(fan) -> int:
    """A fan who wrote again, was handed off or opted out: their open drafts answer an old state."""
    return Draft.objects.filter(Q(fan=fan) & Q(status=Draft.Status.OPEN)).update(
        status=Draft.Status.SUPERSEDED, decided_at=timezone.now()
    )


def _shape(draft: Draft) -> str:
    """The draft's words with the fan's name taken out: welcomes to Ana and to Ben are alike."""
    name = (draft.fan.name or "").strip()
    return draft.text.replace(name, "{name}") if name else draft.text


def alike(draft: Draft, creator_ids=None):
    """Other open drafts of the same creator that say the same thing the same way (action, content, price,
    words but the name): a manager approves a batch of welcomes at once."""
    same = (
        open_drafts(creator_ids)
        .filter(creator_id=draft.creator_id, action=draft.action, content_key=draft.content_key, price=draft.price)
        .exclude(pk=draft.pk)
    )
    shape = _shape(draft)
    return Draft.objects.filter(pk__in=[d.pk for d in same if _shape(d) == shape]).select_related("fan", "creator")


class BatchReport:
    def __init__(self):
        self.sent, self.refused = 0, []

    def summary(self) -> str:
        text = f"{self.sent} draft(s) approved and sent."
        if self.refused:
            text += f" {len(self.refused)} not sent: " + "; ".join(self.refused[:5])
        return text


def approve_many(batch: list[Draft], user) -> BatchReport:
    """Approve each draft as drafted, each through approve() (the last gate, the one claim, one send)."""
    report = BatchReport()
    for draft in batch:
        try:
            approve(draft, user)
        except DraftError as e:
            report.refused.append(f"{draft.fan}: {e}")
        else:
            report.sent += 1
    return report
