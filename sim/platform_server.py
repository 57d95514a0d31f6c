"""A fake creator platform on loopback, speaking ../shared/platform-api.md (`--dialect simple`, the default)
or OnlyFansAPI.com's format (`--dialect onlyfansapi`, ../shared/providers/onlyfansapi.md).

Integration tests start it as a subprocess and `make run` uses it as the demo audience, so it uses
only the standard library (fast start, no Django). `/_fake/*` endpoints (no auth) let tests inspect
what was sent, inject failures and push webhooks.

    python -m sim.platform_server --port 8900 --webhook-url http://127.0.0.1:8000/webhooks/acct_demo \
        --webhook-secret S --simulate --speed 2
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sim.platform_state import VAULT_LIST, ApiError, FakePlatform

API_RE = re.compile(r"^/api/([^/]+)(/.*)$")
SEND_RE = re.compile(r"^/chats/([^/]+)/messages$")
TYPING_RE = re.compile(r"^/chats/([^/]+)/typing$")
WEBHOOKS_RE = re.compile(r"^/api/webhooks(?:/([^/]+))?/?$")
MASS_RE = re.compile(r"^/mass-messaging(?:/(\d+))?$")
LISTS_RE = re.compile(r"^/user-lists(?:/([^/]+))?(/users)?$")
BUYERS_RE = re.compile(r"^/engagement/messages/(\d+)/buyers$")


def log(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


class Handler(BaseHTTPRequestHandler):
    """Routes one request to the FakePlatform held by the server; every answer is JSON."""

    server_version = "FakePlatform/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # the event log on stdout is the useful one
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # -- plumbing ----------------------------------------------------------------------------------
    def _dispatch(self, method):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # always drain (keep-alive)
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            status, body = self._route(method, parts.path, query, raw)
            self._reply(status, body)
        except ApiError as e:
            self._reply(e.status, e.body, e.headers)
        except Exception as e:  # a bug in the fake must not look like a hung platform
            self._reply(500, {"error": f"fake platform bug: {type(e).__name__}: {e}"})

    def _reply(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _json(raw: bytes):
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "body is not valid JSON") from None

    @staticmethod
    def _int(query, name, default, lo, hi):
        try:
            value = int(query.get(name, default))
        except ValueError:
            raise ApiError(400, f"{name} must be an integer") from None
        if value < lo:
            raise ApiError(400, f"{name} must be >= {lo}")
        return min(value, hi)

    # -- routes ------------------------------------------------------------------------------------
    def _route(self, method, path, query, raw):
        p: FakePlatform = self.server.platform
        if path.startswith("/_fake/"):
            return self._fake(method, path[len("/_fake/") :].rstrip("/"), raw, query)
        hooks = WEBHOOKS_RE.match(path) if p.dialect.name == "onlyfansapi" else None
        m = API_RE.match(path)
        if not m and not hooks:
            raise ApiError(404, f"no route for {path}")
        if self.headers.get("Authorization", "") != f"Bearer {p.api_key}":
            raise ApiError(401, "Unauthorized. missing or wrong Authorization bearer token")
        if hooks:  # the provider's account-independent /webhooks
            return self._provider_webhooks(method, hooks.group(1), raw)
        account, rest = m.groups()
        if account != p.account_id:
            raise ApiError(404, f"unknown account {account}")
        chat = SEND_RE.match(rest)
        if chat:
            try:
                fan_id = int(chat.group(1))
            except ValueError:
                raise ApiError(400, "fan id must be an integer") from None
            if method == "POST":
                return 200, p.send(fan_id, self._json(raw), self.headers.get("Idempotency-Key"))
            if method == "GET":
                limit = self._int(query, "limit", 10, 1, 100)
                return 200, {"data": {"list": p.recent_chat(fan_id, limit)}}
        elif TYPING_RE.match(rest) and method == "POST" and p.dialect.name == "onlyfansapi":
            with p.lock:
                p.typing_shown.append(int(TYPING_RE.match(rest).group(1)))
            return 200, {"data": {"success": True}}
        elif p.dialect.name == "onlyfansapi" and (
            MASS_RE.match(rest) or LISTS_RE.match(rest) or BUYERS_RE.match(rest) or rest.startswith("/engagement/")
        ):
            return self._mass(method, rest, query, raw)
        elif rest == "/chargebacks" and method == "GET" and p.dialect.name == "onlyfansapi":
            limit = self._int(query, "limit", 10, 1, 100)
            offset = self._int(query, "offset", 0, 0, 10**9)
            with p.lock:
                page = json.loads(json.dumps(p.chargebacks[offset : offset + limit]))
            return 200, {"data": {"list": page, "marker": None}}
        elif rest == "/media/vault" and method == "GET":
            limit = self._int(query, "limit", 100, 1, 100)
            offset = self._int(query, "offset", 0, 0, 10**9)
            page = VAULT_LIST[offset : offset + limit]
            return 200, {"data": {"list": page, "hasMore": offset + limit < len(VAULT_LIST)}}
        elif rest == "/webhooks" and method == "POST":
            return 200, {"data": {"id": p.register_webhook(self._json(raw))}}
        elif rest in ("/media/vault", "/webhooks"):
            pass
        else:
            raise ApiError(404, f"no route for {path}")
        raise ApiError(405, f"{method} not allowed on {path}")

    def _mass(self, method, rest, query, raw):
        """Mass messaging, user lists and message engagement (sim.platform_mass)."""
        p: FakePlatform = self.server.platform
        mass, lists, buyers = MASS_RE.match(rest), LISTS_RE.match(rest), BUYERS_RE.match(rest)
        if mass and not mass.group(1):
            if method == "POST":
                return 200, p.mass_send(self._json(raw), self.headers.get("Idempotency-Key"))
            if method == "GET":
                return 200, p.mass_list()
        elif mass:
            if method == "GET":
                return 200, p.mass_retrieve(int(mass.group(1)))
            if method == "DELETE":
                return 200, p.mass_unsend(int(mass.group(1)))
        elif lists and not lists.group(1) and method == "POST":
            return 200, p.create_user_list(self._json(raw))
        elif lists and not lists.group(1) and method == "GET":
            with p.lock:
                return 200, {"data": [p.user_list_payload(item) for item in p.user_lists.values()]}
        elif lists and lists.group(2) and method == "POST":
            return 200, p.add_to_list(lists.group(1), self._json(raw))
        elif lists and not lists.group(2) and method == "DELETE":
            return 200, p.delete_user_list(lists.group(1))
        elif buyers and method == "GET":
            return 200, p.buyers(
                int(buyers.group(1)), self._int(query, "limit", 10, 1, 100), self._int(query, "offset", 0, 0, 10**9)
            )
        elif rest == "/engagement/messages/top-message" and method == "GET":
            return 200, p.top_message()
        else:
            raise ApiError(404, f"no route for {rest}")
        raise ApiError(405, f"{method} not allowed on {rest}")

    def _provider_webhooks(self, method, wh_id, raw):
        """The SDK's webhooks resource: list / create / retrieve / update / delete, answered with
        `{id, url, events, enabled, has_signing_secret, created_at}` (no account ids, no secret)."""
        p: FakePlatform = self.server.platform

        def one(wid):
            found = [w for w in p.list_webhooks() if w["id"] == wid]
            if not found:
                raise ApiError(404, f"no webhook {wid}")
            return found[0]

        if method == "GET" and not wh_id:
            return 200, {"data": p.list_webhooks()}
        if method == "POST" and not wh_id:
            return 200, {"data": one(p.register_webhook(self._json(raw)))}
        if method == "GET" and wh_id:
            return 200, {"data": one(wh_id)}
        if method == "PUT" and wh_id:
            return 200, {"data": one(p.register_webhook(self._json(raw), wh_id=wh_id))}
        if method == "DELETE" and wh_id:
            p.delete_webhook(wh_id)
            return 200, {"data": {"success": True}}
        raise ApiError(405, f"{method} not allowed on /webhooks")

    def _fake(self, method, name, raw, query=None):
        p: FakePlatform = self.server.platform
        sim = self.server.simulator
        if method == "GET" and name == "messages":
            after = self._int(query or {}, "after", 0, 0, 10**9)  # ?after=N: only the messages after the first N
            with p.lock:
                return 200, {"messages": json.loads(json.dumps(p.messages[after:])), "total": len(p.messages)}
        if method == "GET" and name == "stats":
            return 200, p.snapshot_stats()
        if method == "GET" and name == "fans":
            return 200, {"fans": sim.describe_fans() if sim else []}
        if method == "POST" and name == "fail":
            return 200, {"ok": True, "plan": p.add_fail_plan(self._json(raw))}
        if method == "POST" and name == "human":
            body = self._json(raw)
            if (
                not isinstance(body, dict)
                or not isinstance(body.get("fan_id"), int)
                or not isinstance(body.get("text"), str)
            ):
                raise ApiError(400, 'need {"fan_id": int, "text": str, "price"?: number, "mediaFiles"?: [int]}')
            return 200, p.human_send(body["fan_id"], body["text"], body.get("price", 0), body.get("mediaFiles", []))
        if method == "GET" and name == "human":
            with p.lock:
                return 200, {"messages": json.loads(json.dumps(p.human_messages))}
        if method == "GET" and name == "outbox":  # ?after=N: every delivery after the first N, signed as sent
            after = self._int(query or {}, "after", 0, 0, 10**9)
            with p.lock:
                return 200, {"deliveries": json.loads(json.dumps(p.outbox[after:])), "total": len(p.outbox)}
        if method == "GET" and name == "webhooks":  # the whole state, account ids and secrets included
            with p.lock:
                return 200, {"webhooks": json.loads(json.dumps(list(p.webhooks.values())))}
        if method == "GET" and name == "typing":
            with p.lock:
                return 200, {"fans": list(p.typing_shown)}
        if method == "POST" and name == "account":
            body = self._json(raw)
            return 200, p.set_account_state(body.get("state") if isinstance(body, dict) else None)
        if method == "POST" and name == "presence":
            body = self._json(raw)
            if (
                not isinstance(body, dict)
                or not isinstance(body.get("fan_id"), int)
                or body.get("kind") not in ("typing", "online", "offline")
            ):
                raise ApiError(400, 'need {"fan_id": int, "kind": "typing"|"online"|"offline"}')
            return 200, p.tell(p.dialect.presence({"id": body["fan_id"]}, body["kind"]))
        if method == "POST" and name in ("purchase", "tip"):  # a fan pays, as the simulator's fans do
            body = self._json(raw)
            amount = body.get("amount") if isinstance(body, dict) else None
            if (
                not isinstance(body, dict)
                or not isinstance(body.get("fan_id"), int)
                or isinstance(amount, bool)
                or not isinstance(amount, (int, float))
                or not amount > 0
                or (name == "purchase" and not isinstance(body.get("message_id"), int))
            ):
                raise ApiError(
                    400,
                    'need {"fan_id": int, "amount": number > 0'
                    + (', "message_id": int}' if name == "purchase" else "}"),
                )
            return 200, {"webhooks": p.fan_pays(body["fan_id"], amount, body.get("message_id"))}
        if method == "POST" and name in ("mass/buy", "mass/view"):  # a recipient unlocks / opens a mass message
            body = self._json(raw)
            if (
                not isinstance(body, dict)
                or not isinstance(body.get("fan_id"), int)
                or not isinstance(body.get("queue_id"), int)
            ):
                raise ApiError(400, 'need {"fan_id": int, "queue_id": int}')
            if name == "mass/view":
                p.view_copy(body["fan_id"], body["queue_id"])
                return 200, {"ok": True}
            return 200, p.buy_copy(body["fan_id"], body["queue_id"])
        if method == "GET" and name == "mass":
            with p.lock:
                return 200, {
                    "mass": [
                        {k: (sorted(v) if isinstance(v, set) else v) for k, v in m.items()} for m in p.mass_messages
                    ]
                }
        if method == "POST" and name == "chargeback":
            return 200, p.add_chargeback(self._json(raw))
        if method == "POST" and name == "reset":
            p.reset()
            return 200, {"ok": True}
        if method == "POST" and name == "webhook":
            body = self._json(raw)
            if (
                not isinstance(body, dict)
                or not isinstance(body.get("event"), str)
                or not isinstance(body.get("payload", {}), dict)
            ):
                raise ApiError(400, 'need {"event": str, "payload": {...}}')
            result = p.emit(body["event"], body.get("payload", {}), event_id=body.get("event_id"))
            if not result["deliveries"]:
                raise ApiError(400, "no webhook url: register one or start with --webhook-url")
            return 200, result
        raise ApiError(404, f"no fake endpoint {method} /_fake/{name}")


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen backlog (socketserver's default is 5): a burst of fans connects at once
    allow_reuse_address = True

    def __init__(self, addr, platform, simulator=None):
        super().__init__(addr, Handler)
        self.platform, self.simulator = platform, simulator


def build_parser() -> argparse.ArgumentParser:
    a = argparse.ArgumentParser(description="Fake creator platform (shared/platform-api.md) for tests and demos.")
    a.add_argument("--port", type=int, default=8900, help="0 picks a free port")
    a.add_argument("--host", default="127.0.0.1")
    a.add_argument("--account-id", default="acct_demo")
    a.add_argument("--api-key", default="demo-api-key")
    a.add_argument("--webhook-url", default=None, help="where events go until a webhook is registered")
    a.add_argument("--webhook-secret", default="demo-webhook-secret")
    a.add_argument(
        "--dialect",
        choices=["simple", "onlyfansapi"],
        default="simple",
        help="wire format: the project's simple contract or OnlyFansAPI.com's",
    )
    a.add_argument(
        "--redeliver-rate",
        type=float,
        default=0.0,
        help="onlyfansapi: share of webhooks manually redelivered later (same idempotency key)",
    )
    a.add_argument("--rate-limit", type=int, default=0, help="onlyfansapi: sends per minute (0: 1000)")
    a.add_argument(
        "--sim-human-rate",
        type=float,
        default=0.0,
        help="share of simulated fans a human chatter also writes to in the platform's UI",
    )
    a.add_argument("--webhook-backoff", type=float, default=0.5, help="first retry delay, doubled each time")
    a.add_argument("--simulate", action="store_true", help="run simulated fans")
    a.add_argument(
        "--sim-experiment",
        default=None,
        metavar="ID:SHARE",
        help="the bot's holdout experiment (id and control share), for --sim-true-lift",
    )
    a.add_argument(
        "--sim-true-lift",
        type=float,
        default=0.0,
        help="the learning arm's simulated fans buy (1 + this) times as often (a known lift)",
    )
    a.add_argument("--sim-seed", type=int, default=None)
    a.add_argument("--sim-rate", type=float, default=6.0, help="new fans per minute (before --speed)")
    a.add_argument("--sim-max-fans", type=int, default=0, help="stop adding fans after this many (0: never)")
    a.add_argument("--speed", type=float, default=1.0, help="simulation speed-up factor")
    a.add_argument("--sim-chat-boost", type=float, default=0.0, help="added to every simulated fan's reply rate")
    return a


def _experiment(spec: str | None) -> tuple | None:
    if not spec:
        return None
    exp_id, _, share = spec.partition(":")
    return int(exp_id), float(share)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    platform = FakePlatform(
        args.account_id,
        args.api_key,
        args.webhook_url,
        args.webhook_secret,
        backoff=args.webhook_backoff,
        log=log,
        dialect=args.dialect,
        redeliver_rate=args.redeliver_rate,
        rate_limit=args.rate_limit,
        seed=args.sim_seed,
    )
    simulator = None
    if args.simulate:
        from sim.fan_simulator import Simulator

        simulator = Simulator(
            platform,
            seed=args.sim_seed,
            rate=args.sim_rate,
            speed=args.speed,
            max_fans=args.sim_max_fans,
            log=log,
            chat_boost=args.sim_chat_boost,
            human_rate=args.sim_human_rate,
            true_lift=args.sim_true_lift,
            experiment=_experiment(args.sim_experiment),
        )
    server = FakeServer((args.host, args.port), platform, simulator)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    host, port = server.server_address[:2]
    print(f"fake platform listening on http://{host}:{port} ({args.dialect})", flush=True)
    if simulator:
        log(f"sim   simulating fans: {args.sim_rate:g}/min at speed x{args.speed:g}, seed {args.sim_seed}")
        simulator.start()
    while not stop.wait(0.5):
        pass
    platform.stopping.set()
    if simulator:
        simulator.stop()
    server.shutdown()
    server.server_close()
    print("fake platform stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
