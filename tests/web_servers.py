"""The web app served by a real server process, as it is run outside the tests: `runserver --noreload`
the way `make run` starts it (sim's run_demo.web_command), or gunicorn with gunicorn.conf.py. Unlike
Django's test live server (which serves static files itself), whatever these serve is what staff get."""

import os
import subprocess
import sys
from pathlib import Path

import requests

from sim.management.commands.run_demo import web_command
from tests.fake_processes import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]


def server_env(tmp_path: Path, **extra) -> dict:
    """The process environment: DEBUG off, a throw-away SQLite file, nothing from the developer's shell
    that changes what is served."""
    env = {
        **os.environ,
        "DEBUG": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "salesbot.settings",
        **extra,
    }
    for name in ("REDIS_URL", "PRODUCTION", "STATIC_ROOT"):
        if name not in extra:
            env.pop(name, None)
    return env


class WebServer:
    """`with WebServer("runserver" | "gunicorn", tmp_path) as web:` — the app on web.url."""

    def __init__(self, kind: str, tmp_path: Path, **env):
        self.kind, self.port = kind, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = server_env(tmp_path, **env)
        self.log_path = tmp_path / f"{kind}.log"
        if kind == "runserver":
            self.cmd = web_command(self.port)
        elif kind == "gunicorn":
            # gunicorn.conf.py as in production; bind and worker count through the variables it reads.
            self.env.update(GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS="1")
            self.cmd = [sys.executable, "-m", "gunicorn", "salesbot.wsgi", "-c", "gunicorn.conf.py"]
        else:
            raise ValueError(kind)
        self.proc = None

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            assert wait_until(self._answers, timeout=60), f"{self.kind} did not answer:\n{self.output()}"
        except BaseException:
            self.__exit__()
            raise
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.kind} exited with {self.proc.returncode}:\n{self.output()}")
        try:
            requests.get(self.url + "/admin/login/", timeout=2, allow_redirects=False)  # any answer: up
            return True
        except requests.RequestException:
            return False

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, timeout=15, **kw)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()[-4000:]

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
