"""Issue 21: `make run` stops everything it started (qcluster's workers too) on Ctrl-C and SIGTERM, and
every command's --help works."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from sim import processes

ROOT = Path(__file__).resolve().parents[2]
OURS = ("salesbot", "fans", "learning", "models_registry", "sim", "team")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not reaped by its parent) is not running
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False


def test_stopping_a_started_process_stops_its_children_too(tmp_path):
    """A leader that forks workers and ignores SIGTERM itself (like a cluster slow to shut down): the
    workers never outlive the stop."""
    pids = tmp_path / "pids"
    script = (
        "import os, signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "kids = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']) for _ in range(3)]\n"
        f"open({str(pids)!r}, 'w').write(' '.join(str(k.pid) for k in kids))\n"
        "time.sleep(600)\n"
    )
    leader = processes.start([sys.executable, "-c", script])
    deadline = time.monotonic() + 20
    while not (pids.exists() and pids.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    kids = [int(p) for p in pids.read_text().split()]
    assert all(_alive(k) for k in kids)
    processes.stop_all([leader], timeout=1)
    time.sleep(0.3)
    assert leader.poll() is not None
    assert not [k for k in kids if _alive(k)]


def test_run_demo_starts_every_child_in_its_own_group():
    source = (ROOT / "sim" / "management" / "commands" / "run_demo.py").read_text()
    assert "subprocess.Popen(" not in source and "processes.stop_all(" in source


@pytest.mark.parametrize("name", sorted(n for n, app in get_commands().items() if app.split(".")[0] in OURS))
def test_every_management_command_has_a_working_help(name):
    command = load_command_class(get_commands()[name], name)
    assert command.create_parser("manage.py", name).format_help()


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py") if "argparse" in p.read_text()))
def test_every_bench_script_has_a_working_help(script):
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert r.returncode == 0 and "usage" in r.stdout, r.stderr[-2000:]
