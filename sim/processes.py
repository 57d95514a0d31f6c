"""The processes `make run` starts: each in a process group of its own, so stopping one stops everything it
started too (qcluster's workers, runserver's children), on Ctrl-C, on SIGTERM and when one of them dies."""

import os
import signal
import subprocess
import time


def start(cmd, **kwargs) -> subprocess.Popen:
    """Start `cmd` as the leader of a new process group (and session: the terminal's Ctrl-C reaches only
    the supervisor, which then stops the groups in order)."""
    return subprocess.Popen(cmd, start_new_session=True, **kwargs)


def _signal_group(p: subprocess.Popen, sig) -> None:
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_all(procs, timeout: float = 10.0) -> None:
    """SIGTERM to every group, wait up to `timeout` for them all (leaders and their children), then SIGKILL
    whatever is left."""
    procs = list(procs)
    for p in procs:
        _signal_group(p, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            p.poll()  # reap the leaders, so a finished group reads as gone
        if not any(group_alive(p.pid) for p in procs):
            return
        time.sleep(0.1)
    for p in procs:
        _signal_group(p, signal.SIGKILL)
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
