"""Drive N simulated fans through the real system against the fake platform and fake Claude server."""

import socket
import subprocess
import sys
import time

import requests
from django.conf import settings
from django.core.management import BaseCommand, CommandError

from sim.live import LiveSimulation


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(module, *args):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *args],
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(url + "/_fake/stats", timeout=0.5).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise CommandError(f"{module} did not start")


class Command(BaseCommand):
    help = "Simulated fans through webhooks → decisions → fake platform / fake LLM; prints the decision report."

    def add_arguments(self, parser):
        parser.add_argument("--fans", type=int, default=500)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--slug", default="sim")
        parser.add_argument(
            "--bad-llm-every",
            type=int,
            default=25,
            help="every Nth webhook, the fake LLM gives one unusable answer (0: never)",
        )
        parser.add_argument(
            "--variants",
            type=int,
            default=0,
            help="keep only the first N variants of each template (a fresh content map); 0: all",
        )
        parser.add_argument("--no-llm", action="store_true", help="rules only: no LLM key, as without Claude")

    def handle(self, *args, **o):
        platform, platform_url = _start(
            "sim.platform_server", "--account-id", "acct_sim", "--api-key", "sim-key", "--webhook-secret", "sim-secret"
        )
        llm, llm_url = _start("sim.llm_server")
        try:
            sim = LiveSimulation(
                platform_url,
                llm_url,
                slug=o["slug"],
                seed=o["seed"],
                bad_llm_every=o["bad_llm_every"],
                variants=o["variants"],
                llm=not o["no_llm"],
                progress=lambda i, n: self.stdout.write(f"  {i}/{n} fans ({100 * i // n}%)"),
            )
            sim.setup()
            started = time.monotonic()
            report = sim.run(o["fans"])
            for line in report.lines():
                self.stdout.write(line)
            self.stdout.write(f"took {time.monotonic() - started:.1f} s")
            for note in report.notes[:10]:
                self.stderr.write(note)
        finally:
            platform.terminate()
            llm.terminate()
