"""The system as separate processes (gunicorn web, a real qcluster, the fake platform) on a throw-away
SQLite file, for tests that need real concurrency or a real crash; the test reads the file directly."""

import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import requests

from tests.fake_processes import FakePlatformProcess, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET, ACCOUNT = "demo-platform-key", "demo-webhook-secret", "acct_demo"


class System:
    """`with System(tmp_path) as s:` — web on s.url, s.fake the platform, s.sql(...) reads the DB."""

    def __init__(self, tmp_path: Path, settings="tests.reliability.fast_settings", workers=1, web_threads=8):
        self.tmp = tmp_path
        self.db = tmp_path / "system.sqlite3"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.db}",
            "Q_WORKERS": str(workers),
            "Q_CLUSTER_NAME": f"r{uuid.uuid4().hex[:8]}",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": settings,
        }
        self.env.pop("REDIS_URL", None)
        self.web_threads = web_threads
        self.log = open(tmp_path / "procs.log", "w")
        self.procs: list[subprocess.Popen] = []
        self.cluster = None
        self.fake = None

    def __enter__(self):
        self.fake = FakePlatformProcess(
            "--webhook-url",
            f"{self.url}/api/demo/webhook/of-event",
            "--webhook-backoff",
            "0.2",
            api_key=KEY,
            secret=SECRET,
            account=ACCOUNT,
        )
        try:
            subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "run_demo",
                    "--setup-only",
                    "--no-import",
                    "--provider",
                    "simple",
                    "--platform-port",
                    str(self.fake.port),
                ],
                env=self.env,
                cwd=ROOT,
                check=True,
                capture_output=True,
                timeout=120,
            )
            self._start(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "salesbot.wsgi",
                    "-b",
                    f"127.0.0.1:{self.port}",
                    "-w",
                    "1",
                    "--threads",
                    str(self.web_threads),
                    "--log-level",
                    "warning",
                ]
            )
            self.start_cluster()
            assert wait_until(self._up), "web server did not start:\n" + self.output()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self, cmd) -> subprocess.Popen:
        p = subprocess.Popen(
            cmd, env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )  # its own process group: killpg reaches its children
        self.procs.append(p)
        return p

    def start_cluster(self):
        self.cluster = self._start([sys.executable, "manage.py", "qcluster"])

    def kill_cluster(self):
        """kill -9 the qcluster and all its workers at once: no cleanup, no acknowledgement."""
        os.killpg(self.cluster.pid, signal.SIGKILL)
        self.cluster.wait(timeout=10)

    def _up(self) -> bool:
        try:
            return requests.get(self.url + "/api/health", timeout=1).ok
        except requests.RequestException:
            return False

    def sql(self, query, *args):
        with sqlite3.connect(self.db, timeout=20) as conn:
            return conn.execute(query, args).fetchall()

    def sent_to(self, fan_id) -> list:
        return [m for m in self.fake.fake("GET", "messages")["messages"] if m["fan_id"] == fan_id]

    def output(self) -> str:
        self.log.flush()
        return (self.tmp / "procs.log").read_text()[-4000:]

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if self.fake:
            self.fake.stop()
            os.unlink(self.fake.log.name)
        self.log.close()
