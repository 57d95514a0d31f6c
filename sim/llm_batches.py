"""The fake Claude's Message Batches API (sim/llm_server.py routes to it), as the SDK and the API document it:

- `POST /v1/messages/batches` {"requests": [{"custom_id", "params"}]}: a MessageBatch, "in_progress";
- `GET /v1/messages/batches/{id}`: "in_progress" for the configured processing time (`--batch-seconds`, or
  `POST /_fake/batch {"seconds": s}`), then "ended" with its request counts and a `results_url`;
- `GET /v1/messages/batches`: the newest batches first (a page of up to 20: `data`, `has_more`, `first_id`,
  `last_id`);
- `POST /v1/messages/batches/{id}/cancel`: "canceling", then "ended" with every request canceled;
- `GET /v1/messages/batches/{id}/results`: JSONL, one line per request: {"custom_id", "result": {"type":
  "succeeded", "message"} | {"type": "errored", "error": {"type": "error", "error": {...}}} | {"type": "canceled"}
  | {"type": "expired"}}, in reverse order (the API promises no order: match by custom_id).

Each request is answered when the batch ends, by the same code as `POST /v1/messages` (mode, decision, prompt
cache) with usage.service_tier "batch"; an error mode makes it errored. `POST /_fake/batch {"outcome": "expired"}`
(or "canceled") ends later batches' requests that way instead; `POST /_fake/batch {"lose_answers": n}` makes the
next n creates keep the batch but answer 500, as when the API's answer is lost after it accepted the batch;
`GET /_fake/batches` lists what was received.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime

from sim.llm_decisions import ApiError

CUSTOM_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
OUTCOMES = (None, "expired", "canceled")
DAY_S = 24 * 3600


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _bad(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message)


class FakeBatches:
    """Batches by id; `answer(params, headers) -> (message, None) | (None, (kind, message))` answers one request."""

    def __init__(self, answer, seconds: float = 1.0):
        self.answer, self.default_seconds = answer, seconds
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.seconds, self.outcome, self.lose_answers = self.default_seconds, None, 0
            self.batches: dict[str, dict] = {}

    def configure(self, body: dict) -> dict:
        seconds, outcome = body.get("seconds", self.seconds), body.get("outcome", self.outcome)
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise _bad("seconds must be a number >= 0")
        if outcome not in OUTCOMES:
            raise _bad(f"outcome must be one of {OUTCOMES}")
        lose = body.get("lose_answers", self.lose_answers)
        if not isinstance(lose, int) or isinstance(lose, bool) or lose < 0:
            raise _bad("lose_answers must be an integer >= 0")
        with self.lock:
            self.seconds, self.outcome, self.lose_answers = float(seconds), outcome, lose
            return {"seconds": self.seconds, "outcome": self.outcome, "lose_answers": self.lose_answers}

    def listing(self) -> dict:
        with self.lock:
            return {
                "batches": [
                    {
                        "id": b["id"],
                        "custom_ids": [r["custom_id"] for r in b["requests"]],
                        "ended": b["ended"] is not None,
                    }
                    for b in self.batches.values()
                ]
            }

    # --- the API ------------------------------------------------------------------------------------------

    def route(self, method: str, path: str, body: dict, headers, base_url: str):
        """(status, body, headers) for a /v1/messages/batches path; body is bytes for the JSONL results."""
        rest = path[len("/v1/messages/batches") :].strip("/")
        parts = rest.split("/") if rest else []
        if method == "POST" and not parts:
            created = self.create(body, base_url)
            with self.lock:
                if self.lose_answers:
                    self.lose_answers -= 1
                    raise ApiError(500, "api_error", "internal error (the batch was created; this answer is lost)")
            return 200, created, {}
        if method == "GET" and not parts:
            with self.lock:
                newest = sorted(self.batches.values(), key=lambda b: b["created"], reverse=True)[:20]
                data = [self.view(b, base_url) for b in newest]
            first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
            return 200, {"data": data, "has_more": len(self.batches) > 20, "first_id": first, "last_id": last}, {}
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("cancel", "results")):
            raise ApiError(404, "not_found_error", f"no route for {path}")
        want = (method, parts[1] if len(parts) == 2 else "")
        if want not in (("GET", ""), ("POST", "cancel"), ("GET", "results")):
            raise ApiError(405, "invalid_request_error", f"{method} not allowed on {path}")
        with self.lock:
            batch = self.batches.get(parts[0])
            if batch is None:
                raise ApiError(404, "not_found_error", f"no message batch {parts[0]}")
            if want[1] == "cancel":  # "canceling" now, "ended" (every request canceled) when next asked
                if batch["ended"] is None and batch["cancel_at"] is None:
                    batch["cancel_at"] = time.time()
                return 200, self.view(batch, base_url), {}
            self._finish(batch, headers)
            if want[1] == "":
                return 200, self.view(batch, base_url), {}
            if batch["ended"] is None:
                raise _bad(f"message batch {batch['id']} is still processing: its results are not ready")
            lines = [json.dumps(r, ensure_ascii=False) for r in reversed(batch["results"])]
            return 200, ("\n".join(lines) + "\n").encode(), {"Content-Type": "application/binary"}

    def create(self, body: dict, base_url: str) -> dict:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise _bad("requests: a non-empty list is required")
        seen = set()
        for i, r in enumerate(requests):
            cid, params = (r.get("custom_id"), r.get("params")) if isinstance(r, dict) else (None, None)
            if not isinstance(cid, str) or not CUSTOM_ID_RE.match(cid) or cid in seen:
                raise _bad(f"requests.{i}.custom_id: 1-64 letters, digits, - or _, unique in the batch")
            seen.add(cid)
            if not isinstance(params, dict) or not isinstance(params.get("model"), str):
                raise _bad(f"requests.{i}.params: model (string) and messages (list) are required")
            if not isinstance(params.get("messages"), list):
                raise _bad(f"requests.{i}.params: model (string) and messages (list) are required")
            if not isinstance(params.get("max_tokens"), int) or params["max_tokens"] < 1 or params.get("stream"):
                raise _bad(f"requests.{i}.params: max_tokens (positive integer) required, no stream")
        with self.lock:
            batch = {
                "id": f"msgbatch_fake{uuid.uuid4().hex[:20]}",
                "created": time.time(),
                "ends": time.monotonic() + self.seconds,
                "outcome": self.outcome,
                "requests": [{"custom_id": r["custom_id"], "params": r["params"]} for r in requests],
                "cancel_at": None,
                "ended": None,
                "results": [],
            }
            self.batches[batch["id"]] = batch
            return self.view(batch, base_url)

    def _finish(self, batch: dict, headers) -> None:
        """Answer every request once the processing time passed (or canceled: none is answered)."""
        if batch["ended"] is not None or (batch["cancel_at"] is None and time.monotonic() < batch["ends"]):
            return
        for r in batch["requests"]:
            kind = "canceled" if batch["cancel_at"] is not None else batch["outcome"]
            if kind is not None:
                result = {"type": kind}
            else:
                message, error = self.answer(r["params"], headers)
                if message is not None:
                    result = {"type": "succeeded", "message": message}
                else:
                    result = {
                        "type": "errored",
                        "error": {"type": "error", "error": dict(zip(("type", "message"), error, strict=True))},
                    }
            batch["results"].append({"custom_id": r["custom_id"], "result": result})
        batch["ended"] = time.time()

    def view(self, batch: dict, base_url: str) -> dict:
        ended = batch["ended"] is not None
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        for r in batch["results"]:
            counts[r["result"]["type"]] += 1
        counts["processing"] = 0 if ended else len(batch["requests"])
        status = "ended" if ended else ("canceling" if batch["cancel_at"] is not None else "in_progress")
        return {
            "id": batch["id"],
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": _iso(batch["created"]),
            "expires_at": _iso(batch["created"] + DAY_S),
            "ended_at": _iso(batch["ended"]),
            "cancel_initiated_at": _iso(batch["cancel_at"]),
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{batch['id']}/results" if ended else None,
        }
