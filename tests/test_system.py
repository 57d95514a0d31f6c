"""The whole system as `make run` starts it: web server, a real qcluster and the fake platform as
separate processes, on the ORM broker and (where Redis answers) on the Redis broker."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.fake_processes import FakePlatformProcess, free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.integration


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


BROKERS = ["orm", pytest.param("redis", marks=pytest.mark.skipif(not redis_answers(), reason="no Redis on :6379"))]


@pytest.mark.parametrize("broker", BROKERS)
def test_webhook_to_send_through_real_processes(broker, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "Q_WORKERS": "1",
        "Q_CLUSTER_NAME": f"t{uuid.uuid4().hex[:8]}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    if broker == "redis":
        env["REDIS_URL"] = "redis://127.0.0.1:6379/9"
    manage = [sys.executable, str(ROOT / "manage.py")]
    web_port = free_port()
    fake = FakePlatformProcess(
        "--webhook-url",
        f"http://127.0.0.1:{web_port}/api/demo/webhook/of-event",
        api_key="demo-platform-key",
        secret="demo-webhook-secret",
        account="acct_demo",
    )
    procs = []
    try:
        subprocess.run(
            [
                *manage,
                "run_demo",
                "--setup-only",
                "--no-import",
                "--provider",
                "simple",
                "--platform-port",
                str(fake.port),
            ],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )
        log = open(tmp_path / "procs.log", "w")
        procs.append(
            subprocess.Popen(
                [*manage, "runserver", f"127.0.0.1:{web_port}", "--noreload"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        procs.append(subprocess.Popen([*manage, "qcluster"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        assert wait_until(lambda: _up(f"http://127.0.0.1:{web_port}/api/health")), "web server did not start"

        fake.fake("POST", "webhook", json={"event": "subscriptions.new", "payload": {"fan": {"id": 77, "name": "Lee"}}})
        first = wait_until(lambda: [m for m in fake.fake("GET", "messages")["messages"] if m["fan_id"] == 77])
        assert len(first) == 1, (tmp_path / "procs.log").read_text()[-3000:]
        out = fake.fake(
            "POST",
            "webhook",
            json={
                "event": "messages.received",
                "payload": {
                    "fan": {"id": 77, "name": "Lee"},
                    "message": {"id": 1, "text": "hi!", "createdAt": "2026-11-24T18:00:00Z"},
                },
            },
        )
        assert out["status"] == 200
        both = wait_until(lambda: len([m for m in fake.fake("GET", "messages")["messages"] if m["fan_id"] == 77]) >= 2)
        assert both, (tmp_path / "procs.log").read_text()[-3000:]
        time.sleep(1.5)  # anything extra would show up now
        sent = [m for m in fake.fake("GET", "messages")["messages"] if m["fan_id"] == 77]
        assert len(sent) == 2
        assert sent[0]["mediaFiles"] and sent[0]["price"] == 0  # the welcome selfie, free
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        fake.stop()


def _up(url) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False
