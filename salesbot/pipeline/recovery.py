"""Recover in seconds, not at the sweeper's minute or the lease's end.

A worker process that dies (SIGKILL, OOM, a cluster killed) leaves behind what it held: a fan's lease and
its item `working`, and perhaps the intake's "drain queued" flag with no task behind it. A deferred send
(the platform's Retry-After) waits for its time with no task to wake it. Each is noticed here:

- `owner_alive`: every claim records its worker (host:pid:process start); an owner on this host whose
  process is gone is dead at once (other hosts: their lease still decides);
- `reclaim_dead`: a dead owner's item is marked abandoned and its fan's lease freed, so the next claim takes
  it (queue.claim_next; a decided send is resent with the same idempotency key);
- `stale_drain_flag`: a "drain queued" flag no drain cleared for seconds is taken over;
- checkers.recover, run every second by each qcluster worker process's ticker (tasks.start_recovery_ticker):
  all of the above, and a worker woken when a retry comes due or an item waits with no task for it.
"""

import logging
import os
import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from fans.models import Fan
from salesbot.models import IntakeDrain, QueueItem

log = logging.getLogger(__name__)

STALE_FLAG_S = 5.0  # a queued drain starts within a second on a live cluster


def _host() -> str:
    """This machine as a claim names it: the host name and the pid namespace (two containers sharing a
    host name never read each other's pids)."""
    try:
        ns = os.readlink("/proc/self/ns/pid").replace(":", "")
    except OSError:
        ns = ""
    return f"{socket.gethostname()}/{ns}".replace(":", "")


_HOST = _host()
_me: tuple[int, str] | None = None


def _start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), which tells a reused pid apart; None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    if fields and fields[0] in ("Z", "X"):  # a zombie is as dead as a missing process
        return None
    return fields[19] if len(fields) > 19 else ""


def worker_id() -> str:
    """This process, as a claim names it: host:pid:start."""
    global _me
    pid = os.getpid()
    if _me is None or _me[0] != pid:
        _me = (pid, f"{_HOST}:{pid}:{_start_time(pid) or ''}"[:120])
    return _me[1]


def owner_alive(owner: str) -> bool:
    """False only when the owner is surely dead: on this host, its process is gone (or its pid reused)."""
    host, _, rest = (owner or "").partition(":")
    pid, _, start = rest.partition(":")
    if not owner or host != _HOST or not pid.isdigit():
        return True
    now = _start_time(int(pid))
    if now is None:
        return False
    return not start or not now or now == start


def _lease() -> timedelta:
    return timedelta(seconds=float(settings.WORKER_LEASE_S))  # queue.lease(), not imported: queue imports this


def reclaim_dead(now=None) -> int:
    """Items a dead worker of this host held: abandoned now (as the lease's end would make them), their
    fans' leases freed. Returns how many."""
    now = now or timezone.now()
    held = (
        QueueItem.objects.filter(status=QueueItem.Status.WORKING, claimed_at__gte=now - _lease())
        .exclude(claimed_by="")
        .filter(claimed_by__startswith=f"{_HOST}:")
        .values_list("pk", "fan_id", "claimed_by")
    )
    n = 0
    for pk, fan_id, owner in held:
        if owner_alive(owner):
            continue
        if QueueItem.objects.filter(pk=pk, status=QueueItem.Status.WORKING, claimed_by=owner).update(
            claimed_at=now - _lease() - timedelta(seconds=1)
        ):
            Fan.objects.filter(pk=fan_id).update(lease_until=None)
            log.warning("queue item %s: its worker %s died; taken over now", pk, owner)
            n += 1
    return n


def stale_drain_flag(now=None) -> bool:
    """The "drain queued" flag is set, but no drain started for STALE_FLAG_S: its task was lost (a killed
    cluster took it from the broker). Taken over: cleared, so the next wake_drain queues a drain."""
    now = now or timezone.now()
    return bool(
        IntakeDrain.objects.filter(pk=1, queued=True, changed_at__lt=now - timedelta(seconds=STALE_FLAG_S)).update(
            queued=False, changed_at=now
        )
    )
