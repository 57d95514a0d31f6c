"""`make run`: the whole system on the embedded default, with a demo creator and simulated fans."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError, call_command
from rest_framework.authtoken.models import Token

from learning import experiments
from models_registry.services import onboard_from_files
from salesbot import security
from sim import processes

DEMO = Path(settings.BASE_DIR) / "demo"
DEMO_KEY, DEMO_SECRET = "demo-platform-key", "demo-webhook-secret"


def web_command(port: int) -> list[str]:
    """How `make run` serves the web app: Django's runserver (DEBUG off unless set), static files by WhiteNoise."""
    return [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    """True once `url` answers (any HTTP status); False if `proc` exits or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.3)
    return False


class Command(BaseCommand):
    help = "Migrate, load the demo creator and its seed logs, then run web, qcluster, fake platform and simulator."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--platform-port", type=int, default=8950)
        parser.add_argument("--llm-port", type=int, default=8960)
        parser.add_argument("--sim-rate", type=float, default=4, help="new simulated fans per minute")
        parser.add_argument("--sim-speed", type=float, default=3, help="simulated fans react this many times faster")
        parser.add_argument("--no-simulate", action="store_true")
        parser.add_argument(
            "--provider",
            choices=["onlyfansapi", "simple"],
            default="onlyfansapi",
            help="the wire format of the demo (the fake platform speaks either)",
        )
        parser.add_argument(
            "--experiment",
            type=float,
            default=None,
            metavar="SHARE",
            help="start a holdout experiment with this control share (e.g. 0.2) before the fans come",
        )
        parser.add_argument(
            "--true-lift",
            type=float,
            default=0.0,
            help="with --experiment: the learning arm's simulated fans buy (1 + this) times as often, "
            "a known lift for the experiment to find (on top of whatever the learning earns)",
        )
        parser.add_argument("--setup-only", action="store_true", help="prepare the database and exit")
        parser.add_argument("--no-import", action="store_true", help="skip importing the demo seed logs")

    def handle(self, *args, **opts):
        for port in (opts["port"], opts["platform_port"], opts["llm_port"]):
            if not opts["setup_only"] and not port_free(port):
                raise CommandError(f"port {port} is in use; stop what runs there or pass --port/--platform-port")
        self.stdout.write("» migrating the database")
        call_command("migrate", interactive=False, verbosity=0)
        platform = f"http://127.0.0.1:{opts['platform_port']}"
        # The demo speaks OnlyFansAPI.com's format end to end: the fake platform stands in for the provider.
        simple = opts["provider"] == "simple"
        creator = onboard_from_files(
            DEMO / "content-map.json",
            DEMO / "playbook.md",
            provider=opts["provider"],
            api_base_url=platform if simple else f"{platform}/api",
            api_key=DEMO_KEY,
            webhook_secret=DEMO_SECRET,
        )
        if not settings.FIELD_ENCRYPTION_KEYS:
            self.stdout.write(
                f"» credentials encrypted at rest with the development key in "
                f"{settings.FIELD_ENCRYPTION_KEY_FILE} (made once; production: FIELD_ENCRYPTION_KEYS)"
            )
        self.stdout.write(
            f"» demo creator '{creator.slug}' ready ({creator.vault_items.count()} vault items, "
            f"{creator.playbook_sections.count()} playbook sections)"
        )
        if (DEMO / "research").exists() and not opts["no_import"]:
            self.stdout.write("» importing the demo seed-format logs")
            call_command("import_seed_logs", str(DEMO), creator=creator.slug, stdout=self.stdout)
        user = get_user_model().objects.filter(username="admin").first()
        if user is None:
            user = get_user_model().objects.create_superuser("admin", "admin@example.com", "admin")
        two_factor_line = self._enroll_demo_admin(user)
        token = Token.objects.filter(user=user).select_related("info").first()
        if token is None or getattr(token, "info", None) is None or token.info.expired:
            token = security.create_token(user, "make run (demo)")
        if opts["experiment"]:
            experiments.stop(creator, by="make run")
            exp = experiments.start(creator, opts["experiment"], by="make run")
            opts["experiment_spec"] = f"{exp.pk}:{exp.control_share}"
            self.stdout.write(
                f"» holdout experiment {exp.pk} started: control share {exp.control_share:g}, "
                f"simulated true lift {opts['true_lift']:g}"
            )
        if opts["setup_only"]:
            if two_factor_line:
                self.stdout.write("» demo admin (admin / admin):\n" + two_factor_line.rstrip("\n"))
            return
        self._run(creator, token.key, opts, platform, two_factor_line)

    @staticmethod
    def _enroll_demo_admin(user) -> str:
        """Two-factor is required for managers (the demo's admin is a superuser): the demo admin is enrolled
        the way a person would be, and every start prints the authenticator setup key and fresh recovery codes,
        so `admin` / `admin` + one of those codes logs in with nothing set by hand."""
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from salesbot import two_factor

        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None and not two_factor.required_for(user):
            return ""  # TWO_FACTOR_REQUIRED=off: admin / admin alone
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="demo authenticator", confirmed=False)
            two_factor.enroll(user, device)
        codes = two_factor.new_recovery_codes(user)
        return (
            f"  two-factor:     recovery codes (one login each) {' '.join(codes[:3])}\n"
            f"                  or the setup key {two_factor.secret_of(device)} in an authenticator app\n"
        )

    def _run(self, creator, token, opts, platform, two_factor_line=""):
        py, manage = sys.executable, str(Path(settings.BASE_DIR) / "manage.py")
        web = f"http://127.0.0.1:{opts['port']}"
        fake = [
            py,
            "-m",
            "sim.platform_server",
            "--port",
            str(opts["platform_port"]),
            "--account-id",
            creator.account_id,
            "--api-key",
            DEMO_KEY,
            "--webhook-secret",
            DEMO_SECRET,
            "--dialect",
            creator.provider,
            "--redeliver-rate",
            "0.05",
            "--webhook-url",
            f"{web}/api/{creator.slug}/webhook/of-event"
            if creator.provider == "simple"
            else f"{web}/api/providers/onlyfansapi/webhook",
        ]
        if not opts["no_simulate"]:
            fake += [
                "--simulate",
                "--sim-rate",
                str(opts["sim_rate"]),
                "--speed",
                str(opts["sim_speed"]),
                "--sim-chat-boost",
                "0.3",
                "--sim-human-rate",
                "0.15",
            ]
            if opts.get("experiment_spec"):
                fake += ["--sim-experiment", opts["experiment_spec"], "--sim-true-lift", str(opts["true_lift"])]
        llm = f"http://127.0.0.1:{opts['llm_port']}"
        # The demo talks to the fake Claude server, never to the real API.
        env = {**os.environ, "ANTHROPIC_API_KEY": "demo-fake-llm-key", "ANTHROPIC_BASE_URL": llm}
        procs: dict = {}

        def _stop(*_):
            raise KeyboardInterrupt  # Ctrl-C and SIGTERM alike: leave the loop (or the start-up), stop everything

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            procs.update(
                {
                    "fake LLM": processes.start(
                        [py, "-m", "sim.llm_server", "--port", str(opts["llm_port"])],
                        cwd=settings.BASE_DIR,
                        stdout=subprocess.DEVNULL,
                    ),
                    "web": processes.start(web_command(opts["port"]), env=env),
                    "qcluster": processes.start([py, manage, "qcluster"], env=env),
                }
            )
            # The simulated fans start writing at once: start them only when the web server takes webhooks.
            if not wait_for(f"{web}/api/health", procs["web"]):
                self.stderr.write("the web server did not come up within 60 s; starting the simulator anyway")
            procs["platform"] = processes.start(fake, cwd=settings.BASE_DIR)
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nsalesbot is running\n"
                    f"  admin:          {web}/admin/   (login admin / admin + a two-factor code below)\n"
                    f"{two_factor_line}"
                    f"  learning stats: curl -H 'Authorization: Token {token}' "
                    f"{web}/api/{creator.slug}/learning/stats\n"
                    f"  queue:          curl -H 'Authorization: Token {token}' {web}/api/{creator.slug}/queue\n"
                    f"  fake platform:  {platform}/_fake/stats   ({creator.get_provider_display()} format)\n"
                    f'  human chatter:  curl -d \'{{"fan_id": ID, "text": "hi"}}\' {platform}/_fake/human\n'
                    f"  fake LLM:       {llm}/_fake/stats\n"
                    f"Ctrl-C stops everything.\n"
                )
            )
            while True:
                dead = [name for name, p in procs.items() if p.poll() is not None]
                if dead:
                    self.stderr.write(f"{', '.join(dead)} stopped unexpectedly; shutting down")
                    break
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stopping short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            # Each child leads its own process group: qcluster's workers and any grandchild stop with it.
            processes.stop_all(procs.values(), timeout=10)
