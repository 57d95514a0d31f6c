"""Production gunicorn settings (gunicorn reads ./gunicorn.conf.py by itself; command-line flags win):

    .venv/bin/gunicorn salesbot.wsgi                 # from the project root, behind a proxy
    GUNICORN_WORKERS=4 GUNICORN_THREADS=2 .venv/bin/gunicorn salesbot.wsgi

Why these values (measured with bench/intake.py on a 2-core machine): a request is ~1-2 ms of Python
plus a few short database waits, so one process per core keeps the cores busy, and a few threads per
process cover the waits. Threaded workers also keep client connections alive, so the platform's
webhook deliveries do not pay a TCP handshake each (sync workers close every connection).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", (os.cpu_count() or 2) + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 2))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
backlog = 2048
# Recycle a worker now and then (jittered so they do not restart together): bounds any slow leak.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 20000))
max_requests_jitter = max_requests // 10
timeout = 30
graceful_timeout = 30
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
