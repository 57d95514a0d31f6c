"""Fixtures that run the fake platform as a real subprocess, plus a tiny webhook receiver.

A subprocess (not an in-process thread) is what integration tests and `make run` use, so the tests
exercise the same start-up, port binding and shutdown path.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "test-api-key-123456"
SECRET = "test-webhook-secret"
ACCOUNT = "acct_demo"


def wait_until(predicate, timeout=40.0, every=0.2):
    """Poll until predicate() is truthy (returned) or the timeout passes (its last value returned)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeProcess:
    """A fake server started as `python -m MODULE --port P ...`; stdout goes to a temp file (see .output())."""

    module = ""

    def __init__(self, *args):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="fake-", suffix=".log", delete=False)
        cmd = [sys.executable, "-m", self.module, "--port", str(self.port), *args]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        self._wait_ready()

    def _wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited early:\n{self.output()}")
            try:
                if requests.get(self.url + "/_fake/stats", timeout=0.5).ok:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.module} did not answer within {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def fake(self, method, name, **kw):
        r = requests.request(method, f"{self.url}/_fake/{name}", timeout=15, **kw)
        r.raise_for_status()
        return r.json()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class FakePlatformProcess(FakeProcess):
    module = "sim.platform_server"

    def __init__(self, *extra_args, api_key=API_KEY, secret=SECRET, account=ACCOUNT):
        self.api_key, self.secret, self.account = api_key, secret, account
        super().__init__("--account-id", account, "--api-key", api_key, "--webhook-secret", secret, *extra_args)
        self.api = f"{self.url}/api/{account}"

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"}


class FakeLLMProcess(FakeProcess):
    module = "sim.llm_server"

    def client(self, **kw):
        import anthropic

        return anthropic.Anthropic(api_key="x", base_url=self.url, **{"max_retries": 0, **kw})


@pytest.fixture(scope="session")
def fake_platform_session():
    server = FakePlatformProcess("--webhook-backoff", "0.2")
    yield server
    server.stop()
    os.unlink(server.log.name)


@pytest.fixture
def fake_platform(fake_platform_session):
    """The shared fake platform, reset to a clean slate for each test."""
    fake_platform_session.fake("POST", "reset")
    return fake_platform_session


@pytest.fixture(scope="session")
def fake_llm_session():
    server = FakeLLMProcess()
    yield server
    server.stop()
    os.unlink(server.log.name)


@pytest.fixture
def fake_llm(fake_llm_session):
    """The shared fake Claude server, back in `valid` mode with an empty log for each test."""
    fake_llm_session.fake("POST", "reset")
    return fake_llm_session


@pytest.fixture
def start_fake_platform():
    """Start extra fake platforms with custom CLI flags; all are stopped after the test."""
    started = []

    def start(*args, **kw):
        server = FakePlatformProcess(*args, **kw)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        os.unlink(server.log.name)


class WebhookReceiver:
    """Records every POST (headers + raw body); answers statuses from `responses`, then 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.responses: list[int] = []
        self.cond = threading.Condition()
        receiver = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.cond:
                    status = receiver.responses.pop(0) if receiver.responses else 200
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": raw, "status": status}
                    )
                    receiver.cond.notify_all()
                data = b'{"ok": true}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout=10.0) -> list[dict]:
        """Block until predicate(requests) is true; returns the requests seen."""
        with self.cond:
            ok = self.cond.wait_for(lambda: predicate(self.requests), timeout=timeout)
            assert ok, f"receiver timed out; got {len(self.requests)} requests"
            return list(self.requests)

    def events(self) -> list[dict]:
        with self.cond:
            return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def llm_on(fake_llm, settings):
    """The creator's LLM rows go to the fake Claude server (a real process): no retries, short timeout."""
    settings.ANTHROPIC_API_KEY = "test-key"
    settings.ANTHROPIC_BASE_URL = fake_llm.url
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TIMEOUT_S = 5
    return fake_llm
