"""Property-based fuzzing of the seed-log importer (hypothesis): valid seed lines mixed with garbage
lines and garbage state files. It never crashes, never loses a valid line, reports every bad line,
and a second import adds nothing."""

import itertools
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learning.models import Action, Outcome
from learning.seed.files import import_seed_logs
from learning.seed.format import LineError, loads, parse_record, storable
from tests.reliability.conftest import FUZZ_RANDOM, examples
from tests.reliability.test_fuzz_webhooks import json_values

pytestmark = pytest.mark.django_db


def fuzz_settings(n):
    return settings(
        max_examples=examples(n),
        deadline=None,
        database=None,
        derandomize=not FUZZ_RANDOM,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


finite_json = st.recursive(  # what a valid line may carry in fields the seed does not name
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
ts = st.one_of(st.integers(0, 4_102_444_800), st.floats(0, 4_102_444_800, allow_nan=False).map(lambda f: round(f, 3)))
money = st.one_of(st.none(), st.integers(0, 99_999), st.decimals(0, 99_999, places=2).map(float))
short = st.text(max_size=20)
actions = st.fixed_dictionaries(
    {"ts": ts, "type": st.just("action"), "action": st.sampled_from(["ppv", "text", "bump", "welcome", "rekindle"])},
    optional={
        "content_key": short,
        "price": money,
        "hook": short,
        "fan_state": st.sampled_from(["engaged", "new"]),
        "fan_total_spent": money,
        "response_time_s": st.floats(0, 1e6, allow_nan=False),
        "unknown_field": finite_json,
    },
)
outcomes = st.fixed_dictionaries(
    {"ts": ts, "type": st.just("outcome"), "event": st.sampled_from(["purchased", "replied", "ghosted", "tipped"])},
    optional={"amount": money, "note": finite_json},
)
valid_lines = st.one_of(actions, outcomes).map(lambda o: json.dumps(o).encode())
garbage_lines = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),  # any JSON
    st.dictionaries(st.sampled_from(["ts", "type", "action", "event", "price", "amount"]), json_values, max_size=6).map(
        lambda d: json.dumps(d).encode()
    ),  # near-miss records
    st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" ")),  # not even text
    st.just(b'{"ts": NaN, "type": "action", "action": "ppv"}'),
    st.just(b"[" * 5000 + b"]" * 5000),
)
state_files = st.one_of(
    st.none(),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "state": short,
            "total_spent": json_values,
            "messages_sent": json_values,
            "signals": json_values,
            "created_ts": json_values,
        },
    ).map(json.dumps),
)
tagged_lines = st.one_of(valid_lines.map(lambda line: (True, line)), garbage_lines.map(lambda line: (False, line)))
fan_files = st.lists(st.tuples(st.lists(tagged_lines, max_size=12), state_files), min_size=1, max_size=4)
_serial = itertools.count()


def accepted(line: bytes) -> bool:
    """Does the importer's own parser take this line (a garbage line may be valid by chance)?"""
    try:
        parse_record(storable(loads(line.decode("utf-8"))))
        return True
    except (LineError, ValueError, RecursionError, UnicodeDecodeError):
        return False


@fuzz_settings(60)
@given(fans=fan_files)
def test_importer_never_crashes_and_never_loses_a_valid_line(db, fans):
    root = Path(tempfile.mkdtemp(prefix="fuzz-seed-"))
    slug = f"fuzz{next(_serial)}"  # examples share one test transaction: a fresh creator each
    try:
        logs, states = root / "research/bot-outcomes" / slug, root / "research/bot-state" / slug
        logs.mkdir(parents=True)
        states.mkdir(parents=True)
        valid = 0
        stored_before = Action.objects.count() + Outcome.objects.count()
        for fan_id, (lines, state) in enumerate(fans, start=1000):
            body = [line for _, line in lines]
            valid += sum(1 for is_valid, line in lines if is_valid or accepted(line))
            assert all(accepted(line) for is_valid, line in lines if is_valid)
            (logs / f"{fan_id}.jsonl").write_bytes(b"\n".join(body) + (b"\n" if body else b""))
            if state is not None:
                (states / f"{fan_id}.json").write_text(state)
        report = import_seed_logs(root, slug)
        assert report.actions + report.outcomes == valid, report.errors
        assert Action.objects.count() + Outcome.objects.count() - stored_before == valid
        bad = sum(1 for lines, _ in fans for _, line in lines if line.strip() and not accepted(line))
        assert len([e for e in report.errors if ".jsonl:" in e]) == bad

        again = import_seed_logs(root, slug)
        assert again.actions + again.outcomes == 0 and again.duplicates_skipped == valid
    finally:
        shutil.rmtree(root)
