"""A bounded, loopback-only HTTP load generator: a fixed list of requests, C at a time, spread over a
few client processes (one Python process cannot keep a multi-worker server busy), then it stops."""

import http.client
import itertools
import multiprocessing as mp
import threading
import time
from urllib.parse import urlsplit


def _worker(args):
    """One client process: `threads` threads share this slice of requests. Returns
    [(index, status, latency_s, body_bytes)] in completion order, plus the process's wall time."""
    url, reqs, threads, timeout, deadline = args
    host = urlsplit(url)
    assert host.hostname in ("127.0.0.1", "localhost"), "the bench only talks to loopback"
    out, lock, counter = [], threading.Lock(), itertools.count()

    def run():
        local = []
        conn = None
        while time.time() < deadline:
            i = next(counter)
            if i >= len(reqs):
                break
            idx, method, path, body, headers = reqs[i]
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=timeout)
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                status = r.status
                if r.getheader("Connection", "").lower() == "close" or r.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                status, data = 0, repr(e).encode()
                if conn is not None:
                    conn.close()
                conn = None
            local.append((idx, status, time.perf_counter() - t0, data))
        if conn is not None:
            conn.close()
        with lock:
            out.extend(local)

    t0 = time.perf_counter()
    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return out, time.perf_counter() - t0


def run_load(
    url: str, reqs: list, concurrency: int, processes: int = 2, timeout: float = 30.0, max_seconds: float = 300.0
) -> dict:
    """reqs: [(index, method, path, body, headers)]. Returns results sorted by index, wall time, rate."""
    processes = max(1, min(processes, concurrency))
    slices = [reqs[i::processes] for i in range(processes)]
    per = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    deadline = time.time() + max_seconds
    ctx = mp.get_context("fork")
    t0 = time.perf_counter()
    with ctx.Pool(processes) as pool:
        parts = pool.map(_worker, [(url, s, n, timeout, deadline) for s, n in zip(slices, per, strict=False)])
    wall = time.perf_counter() - t0
    results = sorted((r for part, _ in parts for r in part), key=lambda r: r[0])
    return {
        "results": results,
        "wall_s": wall,
        "rate": len(results) / wall if wall else 0.0,
        "complete": len(results) == len(reqs),
    }
