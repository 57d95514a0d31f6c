"""Shared helpers for the reliability tests (concurrency, crashes, fuzzing, deploy checks)."""

import json
import os

import pytest
from django.db import connection

from salesbot.providers.simple import sign

SECRET = "test-webhook-secret"
# Fuzzing is deterministic in the normal suite (nobody's run turns red by luck); FUZZ_RANDOM=1 and
# FUZZ_EXAMPLES=N explore further.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None
FUZZ_RANDOM = bool(os.environ.get("FUZZ_RANDOM"))


def examples(n: int) -> int:
    return FUZZ_EXAMPLES or n


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def signed_post(client, url, body, secret=SECRET):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, data=raw, content_type="application/json", HTTP_X_SIGNATURE=sign(secret, raw))


@pytest.fixture
def postgres_only(db):
    if not on_postgres():
        pytest.skip(
            "needs PostgreSQL (run with DATABASE_URL=postgres://...): the live server shares one "
            "in-memory SQLite connection between its threads, so it cannot show real concurrency"
        )
