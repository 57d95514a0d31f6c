"""Follow-ups that can wait, written by the model through the Message Batches API at half the price (the creator's
`llm_batch_followups`).

1. The worker, on a bump, rekindle or re-engage item (`hold`): when the model would write it (the fan is on the
   model's rows, or the rules have no fresh line left for it) and its budget allows, the follow-up is queued as an
   LLMBatchRequest instead of being sent now, and the item closes.
2. A schedule (`run`, every minute): queued requests go out in one batch; open batches are asked whether they
   ended; an ended batch's results are booked (an LLMCall at the batch discount) and each fan still where it was
   gets a queue item of the follow-up's kind.
3. The worker, on that item (`take_ready`, `decide`): the model's answer is checked like a live reply
   (llm.client.use_reply) and goes out through the same sender (last gate, one Action, its idempotency key, the
   queue's retries); an unusable answer, or an errored, expired or canceled request, gets the rules' follow-up.

The stale rule (`stale_reason`): a request is dropped, recorded as stale, when since it was queued the fan wrote,
was handed off, opted out or is blocked otherwise, a person or the bot wrote to them, or the fan moved on (another
state, a renewed subscription). The fan is then decided by the normal path: a fan who wrote gets the inbound path's
reply, once, and nothing from the batch; the checkers queue a follow-up again if one is still due.
"""

import logging
import uuid
from datetime import timedelta

import anthropic
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from fans.models import Fan, Message
from learning.models import Action
from salesbot.models import LLMBatchRequest, LLMCall, QueueItem
from salesbot.pipeline import autonomy, engine, queue, repeats, router
from salesbot.pipeline.contact import contact_block
from salesbot.pipeline.decisions import Context, Decision
from salesbot.pipeline.llm import batch_api
from salesbot.pipeline.llm import client as llm
from salesbot.pipeline.llm.prompt import build_prompt
from team.models import Autonomy

log = logging.getLogger(__name__)

Req = LLMBatchRequest
FOLLOW_UPS = (QueueItem.Reason.BUMP, QueueItem.Reason.REKINDLE, QueueItem.Reason.EXPIRED)
MAX_REQUESTS = 500  # per batch (the API takes up to 100,000 and 256 MB)
SUBMIT_ATTEMPTS = 3  # batches not accepted before the requests fall back to the rules
READY_RETRY = timedelta(minutes=2)  # a result whose fan has no item after this gets one again
READY_FOR = timedelta(hours=1)  # a result no item took in this time is dropped
SUBMITTED_FOR = timedelta(hours=25)  # the API ends a batch within 24 hours (its requests expire)


def open_request(fan) -> LLMBatchRequest | None:
    return Req.objects.filter(fan=fan, status__in=Req.OPEN).first()


# --- the worker's side --------------------------------------------------------------------------------------


def hold(item: QueueItem, ctx: Context, rules: Decision) -> str | None:
    """Queue the model's follow-up for the next batch instead of sending the rules' one (`rules`) now; the item's
    result when it did (or when the fan's request is already waiting), None when the follow-up is decided now."""
    creator, fan = ctx.creator, ctx.fan
    if item.reason not in FOLLOW_UPS or not creator.llm_batch_followups:
        return None
    waiting = "waiting" in rules.extra  # the rules had no fresh line left
    if rules.action == Action.Kind.SKIP and not waiting:
        return None  # nothing is due (re-engaging switched off, the fan renewed …)
    if not (waiting or router.llm_bound(ctx)) or not llm.configured() or not llm.budget_allows(creator):
        return None
    waits = open_request(fan)
    if waits is not None:
        return f"waits for the model's batch (request {waits.pk}, {waits.status})"
    last_id, last_ts = (
        fan.messages.filter(direction=Message.Direction.IN).order_by("-id").values_list("id", "ts").first()
    ) or (0, None)
    try:
        with transaction.atomic():
            req = Req.objects.create(
                creator=creator,
                fan=fan,
                kind=item.reason,
                custom_id=f"{item.reason}-{fan.pk}-{uuid.uuid4().hex[:16]}",
                last_in_id=last_id,
                last_in_ts=last_ts,
                fan_state=fan.state,
            )
    except IntegrityError:  # another worker queued one a moment ago
        return "waits for the model's batch"
    return f"queued for the model's batch (request {req.pk}); the rules' {rules.action} stands in if it fails"


def take_ready(item: QueueItem) -> tuple[LLMBatchRequest | None, str | None]:
    """On a follow-up item: the fan's batch result to apply now (the request, None), or (None, why the item closes)
    when it went stale, or (None, None) when there is none (or it was for another kind of item)."""
    if item.reason not in FOLLOW_UPS:
        return None, None  # a fan's message is answered as always; the sweep drops what it left stale
    req = Req.objects.filter(fan_id=item.fan_id, status=Req.Status.READY).select_related("llm_call").first()
    if req is None:
        return None, None
    why = stale_reason(req, item.creator, item.fan)
    if why is None and req.kind != item.reason:
        why = f"the fan is due a {item.reason} now"
    if why is None:
        return req, None
    drop(req, why)
    return None, (f"dropped the model's {req.kind} from the batch: {why}" if req.kind == item.reason else None)


def decide(ctx: Context, req: LLMBatchRequest) -> Decision:
    """The follow-up from the batch: the model's answer checked like a live reply, or the rules' follow-up (the
    router's row) when it is unusable or the request brought no answer."""
    stand_in = lambda why: _rules(ctx, why)  # noqa: E731
    if req.result == Req.Result.SUCCEEDED and req.llm_call is not None:
        decision = llm.use_reply(ctx, req.llm_call, follow_up=req.kind, stand_in=stand_in)
    else:
        decision = stand_in(f"batch request {req.result or 'failed'}: {req.error}"[:300])
    used = "llm_fallback" not in decision.extra
    decision.route = decision.route or router.route(ctx)[0]
    decision.extra["batch_request_id"] = req.pk
    Req.objects.filter(pk=req.pk, status=Req.Status.READY).update(
        status=Req.Status.APPLIED if used else Req.Status.FELL_BACK, done_at=timezone.now()
    )
    return decision


def link(decision: Decision, action) -> None:
    """The Action the batch's follow-up became."""
    if decision.extra.get("batch_request_id"):
        Req.objects.filter(pk=decision.extra["batch_request_id"]).update(action=action)


def _rules(ctx: Context, why: str) -> Decision:
    decision = engine.decide(ctx)
    decision.extra["llm_fallback"] = why
    return decision


# --- the stale rule -----------------------------------------------------------------------------------------


def stale_reason(req: LLMBatchRequest, creator, fan) -> str | None:
    """Why the request's follow-up no longer fits the fan (see the module doc), or None."""
    blocked = contact_block(creator, fan, fresh=True)
    if blocked:
        return blocked
    if autonomy.mode(creator, fan) == Autonomy.OFF:
        return "mode off: people write to this fan"
    newest = fan.messages.filter(direction=Message.Direction.IN).order_by("-id").values_list("id", flat=True).first()
    if (newest or 0) > req.last_in_id:
        return "the fan wrote since it was queued (the normal reply answers)"
    if fan.state != req.fan_state:
        return f"the fan moved from {req.fan_state} to {fan.state}"
    if req.kind == QueueItem.Reason.EXPIRED and fan.subscription_status != "expired":
        return "the fan subscribed again"
    if fan.messages.filter(direction=Message.Direction.OUT, by_human=True, ts__gte=req.queued_at).exists():
        return "a person wrote to the fan since"
    if Action.objects.filter(fan=fan, status=Action.Status.SENT, ts__gte=req.queued_at).exists():
        return "the fan was written to since"
    return None


def drop(req: LLMBatchRequest, why: str) -> None:
    now = timezone.now()
    if Req.objects.filter(pk=req.id, status__in=Req.OPEN).update(status=Req.Status.STALE, error=why, done_at=now):
        if req.llm_call_id is not None:
            LLMCall.objects.filter(pk=req.llm_call_id, outcome=LLMCall.Outcome.WAITING).update(
                outcome=LLMCall.Outcome.STALE, error=f"batch result dropped: {why}"[:2000]
            )
        log.info("batch request %s for fan %s dropped: %s", req.pk, req.fan_id, why)


# --- the schedule's side ------------------------------------------------------------------------------------


def run() -> dict:
    """The schedule (every minute): ended batches' results in, then the queued requests out in one batch."""
    return {"results": poll(), "swept": sweep(), "submitted": submit()}


def submit() -> int:
    """Send the queued requests (oldest first, up to MAX_REQUESTS) in one batch; how many went out."""
    oldest = Req.objects.filter(status=Req.Status.QUEUED).select_related("creator", "fan").order_by("queued_at")
    queued = list(oldest[:MAX_REQUESTS])
    if not queued:
        return 0
    if not llm.configured():  # the key was removed since: the rules' follow-ups instead
        for req in queued:
            _arrived(req, Req.Result.ERRORED, "no LLM configured")
        return 0
    sent, requests = [], []
    for req in queued:
        why = stale_reason(req, req.creator, req.fan)
        if why:
            drop(req, why)
            continue
        try:
            prompt = build_prompt(req.creator, req.fan, had=repeats.sent_texts(req.fan), follow_up=req.kind)
        except ValueError as e:  # a prompt over the limit even with no context
            _arrived(req, Req.Result.ERRORED, f"no prompt: {e}")
            continue
        req.prompt_tokens, req.trimmed = prompt.tokens, min(prompt.trimmed, 32767)
        requests.append(batch_api.request(req.custom_id, req.creator.llm_model, prompt))
        sent.append(req)
    if not sent:
        return 0
    started, failure = timezone.now(), None
    batch_id: str | None
    try:
        batch_id = batch_api.create(requests)
    except anthropic.APIError as e:
        failure, batch_id = e, _created_all_the_same(e, started, len(requests))
    if not batch_id:
        kind = type(failure).__name__
        why = f"the batch was not accepted: {kind}: {failure}"[:2000]
        log.warning("batch of %s follow-up(s) not accepted (%s); tried again next minute", len(sent), kind)
        Req.objects.filter(pk__in=[r.pk for r in sent]).update(attempts=F("attempts") + 1, error=why)
        for req in sent:
            if req.attempts + 1 >= SUBMIT_ATTEMPTS:
                _arrived(req, Req.Result.ERRORED, why)
        return 0
    now = timezone.now()
    for req in sent:
        req.status, req.batch_id, req.submitted_at, req.attempts = Req.Status.SUBMITTED, batch_id, now, req.attempts + 1
    Req.objects.bulk_update(sent, ["status", "batch_id", "submitted_at", "attempts", "prompt_tokens", "trimmed"])
    log.info("batch %s: %s follow-up(s) sent", batch_id, len(sent))
    return len(sent)


def _created_all_the_same(error: anthropic.APIError, started, n: int) -> str | None:
    """A create whose answer was lost (a timeout, a dropped connection, a 5xx) may have created the batch: it is
    looked for before the requests go again, so the model is not paid twice. A refusal (4xx) created nothing."""
    if isinstance(error, anthropic.APIStatusError) and error.status_code < 500:
        return None
    try:
        found = batch_api.created_since(started, n)
    except anthropic.APIError:
        return None
    if found:
        log.warning("batch create: the answer was lost (%s) but the API had created %s: taken as sent", error, found)
    return found


def poll() -> int:
    """Read the results of every open batch that has ended; how many requests got theirs."""
    n = 0
    open_batches = Req.objects.filter(status=Req.Status.SUBMITTED).order_by().values_list("batch_id", flat=True)
    for batch_id in list(open_batches.distinct()):
        try:
            if not batch_api.ended(batch_id):
                _cancel_if_stale(batch_id)
                continue
            results = list(batch_api.results(batch_id))
        except anthropic.NotFoundError:
            results = []  # the API knows no such batch (any more): every request of it falls back
        except anthropic.APIError as e:
            log.warning("batch %s: could not read it (%s); asked again next minute", batch_id, type(e).__name__)
            continue
        n += settle(batch_id, results)
    return n


def _cancel_if_stale(batch_id: str) -> None:
    """A batch still running whose every follow-up no longer fits its fan (each wrote, or moved on): cancelled at
    the API, so what it has not run yet is not billed; its requests end "canceled" and are dropped as stale when
    the batch ends. One batch holds at most MAX_REQUESTS, looked at once a minute."""
    reqs = Req.objects.filter(batch_id=batch_id, status=Req.Status.SUBMITTED).select_related("creator", "fan")
    if any(stale_reason(req, req.creator, req.fan) is None for req in reqs):
        return
    try:
        batch_api.cancel(batch_id)
    except anthropic.APIError as e:  # it ended meanwhile, or the API is down: its results settle it as before
        log.info("batch %s: not cancelled (%s)", batch_id, type(e).__name__)
        return
    log.info("batch %s cancelled: every follow-up in it went stale", batch_id)


def settle(batch_id: str, results: list) -> int:
    """Book an ended batch's results once (a second poller finds them taken) and give each fan whose follow-up
    still fits a queue item; a request the batch has no line for is taken as errored."""
    submitted = Req.objects.filter(batch_id=batch_id, status=Req.Status.SUBMITTED).select_related("creator")
    reqs = {r.custom_id: r for r in submitted}
    woken = settled = 0
    for res in results:
        req = reqs.pop(res.custom_id, None)
        if req is not None:
            settled += 1
            woken += _arrived(req, res.kind, res.error, res)
    for req in reqs.values():
        settled += 1
        woken += _arrived(req, Req.Result.ERRORED, "the ended batch had no result for it")
    if woken:
        queue.wake_worker(woken)
    return settled


def _arrived(req: LLMBatchRequest, kind: str, error: str = "", res=None) -> int:
    """A request's result is in (or it failed before one could be): booked, then either dropped as stale or made
    ready with a queue item for the fan. 1 if an item was queued."""
    now = timezone.now()
    with transaction.atomic():
        if not Req.objects.filter(pk=req.pk, status__in=[Req.Status.QUEUED, Req.Status.SUBMITTED]).update(
            status=Req.Status.READY, result=kind, error=error[:2000], result_at=now
        ):
            return 0  # another poller took it
        req.status, req.result, req.error, req.result_at = Req.Status.READY, kind, error[:2000], now
        req.llm_call = _book(req, kind, error, res, now)
        if req.llm_call is not None:
            usage = {"input_tokens": req.llm_call.input_tokens, "output_tokens": req.llm_call.output_tokens}
            Req.objects.filter(pk=req.pk).update(llm_call=req.llm_call, cost_usd=req.llm_call.cost_usd, **usage)
        fan = Fan.objects.select_related("creator").get(pk=req.fan_id)
        why = stale_reason(req, fan.creator, fan)
        if why:
            drop(req, why)
            return 0
        queue.enqueue(fan, req.kind, waiting_since=req.queued_at)
    return 1


def _book(req, kind, error, res, now) -> LLMCall | None:
    """The model call, as a live one is booked: a success with its tokens at the batch discount (waiting for the
    fan's turn), an error at no cost. Canceled and expired requests never ran: nothing to book."""
    if res is None or kind not in (Req.Result.SUCCEEDED, Req.Result.ERRORED):
        return None
    creator = req.creator
    call = LLMCall(
        creator=creator,
        fan_id=req.fan_id,
        model=(res.model if res is not None and res.model else creator.llm_model),
        prompt_tokens=req.prompt_tokens,
        trimmed=req.trimmed,
        batched=True,
        latency_ms=min(int((now - (req.submitted_at or req.queued_at)).total_seconds() * 1000), 2**31 - 1),
    )
    if kind == Req.Result.ERRORED or res.usage is None:
        call.outcome, call.error = LLMCall.Outcome.ERROR, f"batch request errored: {error}"[:2000]
    else:
        usage = res.usage
        call.input_tokens = getattr(usage, "input_tokens", 0) or 0
        call.output_tokens = getattr(usage, "output_tokens", 0) or 0
        call.cache_creation_tokens = getattr(usage, "cache_creation_input_tokens", 0) or 0
        call.cache_read_tokens = getattr(usage, "cache_read_input_tokens", 0) or 0
        call.cost_usd = llm.cost_usd(call.model, usage, batch=True)
        call.outcome, call.raw_reply = LLMCall.Outcome.WAITING, res.text
    call.save()
    return call


def sweep(now=None) -> int:
    """Requests left behind: a result whose fan has no queue item (lost, or taken by a decided send) gets one again,
    and is dropped after READY_FOR; a batch the API never ended falls back after SUBMITTED_FOR. How many moved."""
    now = now or timezone.now()
    n = 0
    busy = QueueItem.objects.filter(status__in=[QueueItem.Status.PENDING, QueueItem.Status.WORKING])
    ready = Req.objects.filter(status=Req.Status.READY, result_at__lt=now - READY_RETRY).select_related("fan__creator")
    for req in ready:
        if req.result_at < now - READY_FOR:
            drop(req, "no queue item took the result within an hour")
        elif not busy.filter(fan_id=req.fan_id).exists():
            why = stale_reason(req, req.fan.creator, req.fan)
            if why:
                drop(req, why)
            else:
                queue.enqueue(req.fan, req.kind, waiting_since=req.queued_at)
        else:
            continue
        n += 1
    late = Req.objects.filter(status=Req.Status.SUBMITTED, submitted_at__lt=now - SUBMITTED_FOR)
    for req in late.select_related("creator"):
        n += 1
        _arrived(req, Req.Result.ERRORED, "the batch did not end within 25 hours")
    if n:
        queue.wake_worker(1)
    return n
