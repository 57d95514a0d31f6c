"""The Message Batches API through the anthropic SDK: a batch of requests sent, a batch's state read, its results
read back. Plain values out, no database (salesbot.pipeline.batches keeps the books).

As the SDK and the API document it: `POST /v1/messages/batches` with `requests=[{"custom_id", "params"}]` (params as
for messages.create), `GET /v1/messages/batches/{id}` until `processing_status` is "ended", then the `results_url`
as JSONL, one line per request in any order (matched by `custom_id`), each `succeeded` (with the Message),
`errored` (with the API's error), `canceled` or `expired`.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from salesbot.pipeline.llm.client import client, reply_text
from salesbot.pipeline.llm.prompt import Prompt

# A batch's create call carries every prompt (up to ~45 KB each): more time than one live call gets.
TIMEOUT_S = 60.0
SUCCEEDED, ERRORED, CANCELED, EXPIRED = "succeeded", "errored", "canceled", "expired"


@dataclass
class Result:
    """One request's result: `kind` is the API's result type; `text`, `usage` and `model` for a success,
    `error` for an error."""

    custom_id: str
    kind: str
    text: str = ""
    usage: object = None
    model: str = ""
    error: str = ""


def request(custom_id: str, model: str, prompt: Prompt) -> dict:
    """One request of a batch: the same params as the live call (llm.client.decide)."""
    params = {"model": model, "max_tokens": settings.LLM_MAX_OUTPUT_TOKENS, **prompt.as_api_kwargs()}
    return {"custom_id": custom_id, "params": params}


def _batches(**options):
    return client().with_options(timeout=max(TIMEOUT_S, settings.LLM_TIMEOUT_S), **options).messages.batches


def create(requests: list[dict]) -> str:
    """Send one batch; its id. Not retried by the SDK: a retry after an answer lost on the way (a timeout, a 5xx)
    would create, and bill, the batch twice; the caller looks for it first (`created_since`)."""
    return _batches(max_retries=0).create(requests=requests).id


def created_since(started: datetime, n: int) -> str | None:
    """The id of the one batch of `n` requests the API created since `started` (less a minute for the clocks), or
    None when there is none or more than one: after a create whose answer was lost, whether it was created."""
    since = started - timedelta(minutes=1)
    found = [
        b.id
        for b in _batches().list(limit=20).data
        if b.created_at >= since and sum(dict(b.request_counts).values()) == n
    ]
    return found[0] if len(found) == 1 else None


def cancel(batch_id: str) -> None:
    """Ask the API to stop a batch: the requests it has not run yet end "canceled" and are not billed."""
    _batches().cancel(batch_id)


def ended(batch_id: str) -> bool:
    """Whether the batch has ended processing (every request succeeded, errored, was canceled or expired)."""
    return _batches().retrieve(batch_id).processing_status == "ended"


def results(batch_id: str) -> Iterator[Result]:
    """An ended batch's results (the SDK reads the batch's `results_url`)."""
    for line in _batches().results(batch_id):
        r = line.result
        if r.type == SUCCEEDED:
            m = r.message
            yield Result(line.custom_id, SUCCEEDED, text=reply_text(m), usage=m.usage, model=m.model or "")
        elif r.type == ERRORED:
            err = getattr(r.error, "error", None)
            why = f"{getattr(err, 'type', 'error')}: {getattr(err, 'message', '')}" if err else "errored"
            yield Result(line.custom_id, ERRORED, error=why)
        else:
            yield Result(line.custom_id, r.type)
