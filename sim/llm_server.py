"""A fake Anthropic Messages API on loopback, for tests and `make run` in place of the real API.

The project talks to it through the official SDK: `anthropic.Anthropic(api_key="x", base_url=URL)`.
Standard library only (fast start, no Django). Replies follow the SDK's `Message` / `Usage` /
`MessageTokensCount` models and the API's error shape (`{"type": "error", "error": {...}}`).
Input tokens are a deterministic estimate: ceil(characters of all system + message text / 4). Prompt
caching as the API documents it: a block carrying `cache_control` makes everything up to it (system, then
messages) a cached prefix, keyed by its exact bytes and the model: created on first sight, read while it
lives (5 minutes, or 1 hour with "ttl": "1h", from its last use); a prefix under the model's minimum
cacheable length (salesbot/llm_tables.py, the table settings use) is neither cached nor read, and both
counters stay 0, silently. The mode decides the reply text or failure; `/_fake/*` endpoints (no auth) switch
modes and expose what was received; `POST /_fake/mode` may also set `facts`, any JSON value put as the
"facts" key of every later decision (as a model reporting what it learned about the fan would). The Message
Batches API is sim/llm_batches.py; what a decision says is sim/llm_decisions.py.

    python -m sim.llm_server --port 8901 [--host 127.0.0.1] [--mode valid] [--delay 0] [--batch-seconds 1]
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from salesbot.llm_tables import CACHE_MIN_TOKENS, cache_floor
from sim.llm_batches import FakeBatches
from sim.llm_decisions import ApiError, decision

MODES = ("valid", "prose", "two_lines", "unknown_key", "bad_price", "fenced", "429", "500", "529", "slow")
ERRORS = {
    "429": (429, "rate_limit_error", "Number of request tokens has exceeded your rate limit (fake)"),
    "500": (500, "api_error", "Internal server error (fake)"),
    "529": (529, "overloaded_error", "Overloaded (fake)"),
}
SLOW_DEFAULT_DELAY = 30.0
USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def log(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


def tokens(chars: int) -> int:
    return math.ceil(chars / 4)


def text_blocks(body: dict):
    """(text, cache_control or None) for every system and message text block, in prompt order."""
    system = body.get("system") or []
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system:
        yield from _block_texts(block)
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content or []:
            yield from _block_texts(block)


def _block_texts(block):
    if not isinstance(block, dict):
        return
    if isinstance(block.get("text"), str):
        yield block["text"], block.get("cache_control")
    elif block.get("type") == "tool_result":  # nested content: a string or text blocks
        inner = block.get("content")
        for sub in [{"text": inner}] if isinstance(inner, str) else inner or []:
            yield from _block_texts(sub)
        if block.get("cache_control"):
            yield "", block["cache_control"]


class FakeLLM:
    """Mode, cache memory and request log; every method is thread-safe."""

    def __init__(self, mode="valid", delay=None, floors=None, batch_seconds=1.0):
        self.floors = CACHE_MIN_TOKENS if floors is None else floors
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.default = (mode, delay)
        self.batches = FakeBatches(self.batch_answer, batch_seconds)
        self.reset()

    def reset(self):
        with self.lock:
            self.batches.reset()
            self.mode, self.delay = self.default
            self.temp = None  # [mode, delay, remaining] for a `times`-limited override
            self.facts = None  # the "facts" every decision carries (None: no such key)
            self.cache: dict[tuple[str, str], float] = {}  # (model, prefix bytes) -> when it expires
            self.requests: list[dict] = []
            self.by_mode = Counter()
            self.stats = Counter(
                dict.fromkeys(("requests", "errors", "count_tokens", "unauthorized", "under_floor", *USAGE_KEYS), 0)
            )

    def set_mode(self, body: dict) -> dict:
        mode, times, delay = body.get("mode", "valid"), body.get("times"), body.get("delay", self.default[1])
        if mode not in MODES:
            raise ApiError(400, "invalid_request_error", f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise ApiError(400, "invalid_request_error", "times must be a positive integer")
        if delay is not None and (not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0):
            raise ApiError(400, "invalid_request_error", "delay must be a number >= 0")
        with self.lock:
            if "facts" in body:
                self.facts = body["facts"]
            if times is None:
                self.mode, self.delay, self.temp = mode, delay, None
            else:
                self.temp = [mode, delay, times]
            return self.describe()

    def describe(self) -> dict:
        with self.lock:
            d = {"mode": self.mode, "delay": self.delay}
            if self.temp:
                d["override"] = {"mode": self.temp[0], "delay": self.temp[1], "remaining": self.temp[2]}
            return d

    def _next_mode(self):
        if not self.temp:
            return self.mode, self.delay
        mode, delay, _ = self.temp
        self.temp[2] -= 1
        if self.temp[2] <= 0:
            self.temp = None
        return mode, delay

    def count(self, body: dict) -> int:
        return tokens(sum(len(t) for t, _ in text_blocks(body)))

    def batch_answer(self, params: dict, headers):
        """One request of a batch, answered as a live call is (no delay, billed as a batch)."""
        try:
            return self.message(params, headers, batch=True)[1], None
        except ApiError as e:
            return None, (e.kind, e.message)

    def message(self, body: dict, headers, batch: bool = False) -> tuple[int, dict, dict]:
        blocks = list(text_blocks(body))
        total = tokens(sum(len(t) for t, _ in blocks))
        last_cached = max((i for i, (_, cc) in enumerate(blocks) if cc), default=-1)
        # byte-exact: the block texts with their boundaries, so moving a byte across a block boundary misses too
        prefix = json.dumps([t for t, _ in blocks[: last_cached + 1]], ensure_ascii=False)
        prefix_tokens = tokens(sum(len(t) for t, _ in blocks[: last_cached + 1]))
        ttl = (blocks[last_cached][1] or {}).get("ttl", "5m") if last_cached >= 0 else "5m"
        model = str(body.get("model"))
        with self.lock:
            mode, delay = self._next_mode()
            facts = self.facts
            created = read = 0
            if mode not in ERRORS and last_cached >= 0 and prefix_tokens:
                if prefix_tokens < cache_floor(model, self.floors):
                    self.stats["under_floor"] += 1
                else:
                    key, now = (model, prefix), time.monotonic()
                    if self.cache.get(key, 0) > now:
                        read = prefix_tokens
                    else:
                        created = prefix_tokens
                    self.cache[key] = now + (3600 if ttl == "1h" else 300)
        if delay is None and mode == "slow":
            delay = SLOW_DEFAULT_DELAY
        if delay and not batch:
            self.stopping.wait(delay)
        record = {
            "body": body,
            "mode": mode,
            "estimated_input_tokens": total,
            "anthropic_version": headers.get("anthropic-version"),
            "batch": batch,
        }
        if mode in ERRORS:
            status, kind, msg = ERRORS[mode]
            with self.lock:
                self.requests.append({**record, "status": status})
                self.by_mode[mode] += 1
                self.stats.update({"requests": 1, "errors": 1})
            retry = {"retry-after": "0"} if status == 429 else {}
            raise ApiError(status, kind, msg, {"x-should-retry": "true", **retry})
        text = decision("\n".join(t for t, _ in blocks), mode, facts)
        usage = {
            "input_tokens": total - created - read,
            "output_tokens": max(1, tokens(len(text))),
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": created if ttl != "1h" else 0,
                "ephemeral_1h_input_tokens": created if ttl == "1h" else 0,
            },
            "service_tier": "batch" if batch else "standard",
        }
        reply = {
            "id": f"msg_fake_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }
        with self.lock:
            self.requests.append({**record, "status": 200, "usage": usage, "reply": text})
            self.by_mode[mode] += 1
            self.stats.update({"requests": 1, **{k: usage[k] for k in USAGE_KEYS}})
        return 200, reply, {}

    def snapshot(self) -> dict:
        with self.lock:
            return {"by_mode": dict(self.by_mode), **self.stats, **self.describe()}


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeAnthropic/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # always drain (keep-alive)
        path = urlsplit(self.path).path.rstrip("/")
        try:
            status, body, headers = self._route(method, path, raw)
        except ApiError as e:
            status, headers = e.status, e.headers
            body = {"type": "error", "error": {"type": e.kind, "message": e.message}}
        except Exception as e:  # a bug in the fake must not look like a hung API
            status, headers = 500, {"x-should-retry": "false"}
            body = {"type": "error", "error": {"type": "api_error", "message": f"fake llm bug: {e!r}"}}
        if path.startswith("/v1/"):
            log(f"llm   {method} {path} -> {status}")
        try:
            self._reply(status, body, headers)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def _reply(self, status, body, headers):
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        if "Content-Type" not in headers:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", f"req_fake_{uuid.uuid4().hex[:20]}")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, raw: bytes) -> dict:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "invalid_request_error", "body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request_error", "body must be a JSON object")
        return body

    def _route(self, method, path, raw):
        llm: FakeLLM = self.server.llm
        if path.startswith("/_fake/"):
            name = path[len("/_fake/") :]
            if method == "GET" and name == "requests":
                with llm.lock:
                    return 200, {"requests": json.loads(json.dumps(llm.requests))}, {}
            if method == "GET" and name == "stats":
                return 200, llm.snapshot(), {}
            if method == "GET" and name == "mode":
                return 200, llm.describe(), {}
            if method == "POST" and name == "mode":
                return 200, llm.set_mode(self._json(raw)), {}
            if method == "POST" and name == "reset":
                llm.reset()
                return 200, {"ok": True}, {}
            if method == "POST" and name == "batch":
                return 200, llm.batches.configure(self._json(raw)), {}
            if method == "GET" and name == "batches":
                return 200, llm.batches.listing(), {}
            raise ApiError(404, "not_found_error", f"no fake endpoint {method} /_fake/{name}")
        batches = path == "/v1/messages/batches" or path.startswith("/v1/messages/batches/")
        if path not in ("/v1/messages", "/v1/messages/count_tokens") and not batches:
            raise ApiError(404, "not_found_error", f"no route for {path}")
        if method != "POST" and not batches:
            raise ApiError(405, "invalid_request_error", f"{method} not allowed on {path}")
        # the real API takes `x-api-key`; this SDK version (2.x) sends api_key as `Authorization: Bearer`
        bearer = self.headers.get("Authorization", "")
        if not self.headers.get("x-api-key") and not (bearer.startswith("Bearer ") and bearer[7:].strip()):
            with llm.lock:
                llm.stats["unauthorized"] += 1
            raise ApiError(401, "authentication_error", "x-api-key header is required")
        body = self._json(raw) if method == "POST" else {}
        if batches:
            return llm.batches.route(method, path, body, self.headers, f"http://{self.headers.get('Host')}")
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            raise ApiError(400, "invalid_request_error", "model (string) and messages (list) are required")
        if path.endswith("/count_tokens"):
            with llm.lock:
                llm.stats["count_tokens"] += 1
            return 200, {"input_tokens": llm.count(body)}, {}
        if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
            raise ApiError(400, "invalid_request_error", "max_tokens: field required (positive integer)")
        if body.get("stream"):
            raise ApiError(400, "invalid_request_error", "the fake LLM does not support stream=true")
        return llm.message(body, self.headers)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen backlog (socketserver's default is 5): a burst of fans connects at once
    allow_reuse_address = True

    def __init__(self, addr, llm):
        super().__init__(addr, Handler)
        self.llm = llm


def build_parser() -> argparse.ArgumentParser:
    a = argparse.ArgumentParser(description="Fake Anthropic Messages API for tests and demos.")
    a.add_argument("--port", type=int, default=8901, help="0 picks a free port")
    a.add_argument("--host", default="127.0.0.1")
    a.add_argument("--mode", choices=MODES, default="valid")
    a.add_argument(
        "--cache-floor",
        type=int,
        default=None,
        help="one minimum cacheable prefix (tokens) for every model instead of the documented table",
    )
    a.add_argument(
        "--batch-seconds", type=float, default=1.0, help="how long a message batch stays in_progress before it ends"
    )
    a.add_argument(
        "--delay",
        type=float,
        default=None,
        help=f"seconds to wait before each reply (default 0; {SLOW_DEFAULT_DELAY:g} in slow mode)",
    )
    return a


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    floors = None if args.cache_floor is None else {"": args.cache_floor}
    llm = FakeLLM(args.mode, args.delay, floors, args.batch_seconds)
    server = FakeServer((args.host, args.port), llm)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    host, port = server.server_address[:2]
    print(f"fake llm listening on http://{host}:{port} (mode {args.mode})", flush=True)
    while not stop.wait(0.5):
        pass
    llm.stopping.set()  # wake slow replies
    server.shutdown()
    server.server_close()
    print("fake llm stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
