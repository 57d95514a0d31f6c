"""The seed's log formats (docs/operations.md#importing-the-seeds-logs) read strictly: one line or state file in,
clean field values or a `file:line: reason` out. Kept apart from the import/export (learning.seed.files) so
the parsing can be fuzzed and reused (bench/stats.py) without the database side.
"""

import hashlib
import json
import math
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeGuard

from fans.state_machine import FanState

CENT = Decimal("0.01")
ACTION_KEYS = ("action", "content_key", "price", "hook", "fan_state", "fan_total_spent", "response_time_s")
OUTCOME_KEYS = ("event", "amount")
# Written by our export beside the seed's whole-second `ts` when the time has a fraction of a second.
EXACT_TS = "ts_exact"


class SeedIOError(Exception):
    """A problem with the whole import or export (the command turns it into a CommandError)."""


class LineError(ValueError):
    """One line (or field) is unusable; reported as `file:line: reason` and skipped."""


def _ok(value, good: bool, reason: str):
    if not good:
        raise LineError(reason)
    return value


def _isnum(v) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _ts(v) -> datetime:
    if not _isnum(v):
        raise LineError(f"invalid ts {v!r} (want unix seconds)")
    try:
        return datetime.fromtimestamp(v, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise LineError(f"ts {v!r} out of range") from None


def _money(v, name: str, max_digits: int) -> Decimal | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise LineError(f"invalid {name} {v!r}")
    try:
        d = Decimal(str(v))
        q = d.quantize(CENT)
    except InvalidOperation:
        raise LineError(f"invalid {name} {v!r}") from None
    if q != d or abs(q) >= 10 ** (max_digits - 2):
        raise LineError(f"{name} {v!r} does not fit (max {max_digits - 2} digits, 2 decimals)")
    return q


def _text(v, name: str, max_len: int | None = None) -> str:
    if v is not None and not isinstance(v, str):
        raise LineError(f"{name} must be a string, got {v!r}")
    return _ok(v or "", not max_len or len(v or "") <= max_len, f"{name} longer than {max_len} characters")


def _float(v, name: str) -> float | None:
    if v is None or _isnum(v):
        return None if v is None else float(v)
    raise LineError(f"invalid {name} {v!r}")


# Our export's extra keys on an action (the seed has none of them): the holdout arm and the rule engine's
# marks, which the stats read (a control-arm action counted as learning data would teach the learning arm).
ARMS = ("learning", "control")
ACTION_MARKS = ("arm", "explored", "segment")
SEGMENTS = ("new:first", "new:declined", "buyer:low", "buyer:big")  # learning.models.PRICE_CONTEXTS


def _action_marks(obj: dict, f: dict) -> list[str]:
    """Take `arm`, `explored` and `segment` from the line into the action's fields when they are valid
    (else they stay in `extra`, as any unknown key); returns the keys taken."""
    taken = []
    if obj.get("arm") in ARMS:
        f["arm"] = obj["arm"]
        taken.append("arm")
    if isinstance(obj.get("explored"), bool):
        f["explored"] = obj["explored"]
        taken.append("explored")
    if obj.get("segment") in SEGMENTS:
        f["segment"] = obj["segment"]
        taken.append("segment")
    return taken


def parse_record(obj) -> tuple[str, dict]:
    """One JSONL object -> ("action"|"outcome", model field values incl. ts and extra)."""
    if not isinstance(obj, dict):
        raise LineError("not a JSON object")
    if "ts" not in obj:
        raise LineError("missing ts")
    ts = _ts(obj["ts"])
    kind = obj.get("type")
    f: dict[str, object]
    if kind == "action":
        if not obj.get("action"):
            raise LineError("action line without 'action'")
        f = {
            "action": _text(obj["action"], "action", 20),
            "content_key": _text(obj.get("content_key"), "content_key", 80),
            "price": _money(obj.get("price"), "price", 8),
            "hook": _text(obj.get("hook"), "hook", 40),
            "fan_state": _text(obj.get("fan_state"), "fan_state", 20),
            "fan_total_spent": _money(obj.get("fan_total_spent"), "fan_total_spent", 10) or Decimal(0),
            "response_time_s": _float(obj.get("response_time_s"), "response_time_s"),
        }
        known = ACTION_KEYS + tuple(_action_marks(obj, f))
    elif kind == "outcome":
        if not obj.get("event"):
            raise LineError("outcome line without 'event'")
        f = {"event": _text(obj["event"], "event", 20), "amount": _money(obj.get("amount"), "amount", 10)}
        known = OUTCOME_KEYS
    elif kind is None:
        raise LineError("missing type")
    else:
        raise LineError(f"unknown type {kind!r}")
    exact = obj.get(EXACT_TS)
    if _isnum(exact) and math.isfinite(exact) and 0 <= exact - ts.timestamp() < 1:
        ts = datetime.fromtimestamp(exact, tz=UTC)  # our own export's sub-second time
    f["ts"] = ts
    f["extra"] = {k: v for k, v in obj.items() if k not in known and k not in ("ts", "type", EXACT_TS)}
    return kind, f


MAX_DEPTH = 64
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def loads(text: str):
    """json.loads, strict: NaN/Infinity (which the databases' JSON types refuse) are errors."""
    return json.loads(text, parse_constant=_no_constant)


def storable(value, depth=0, max_depth: int | None = MAX_DEPTH):
    """Every string made storable as text (NUL, refused by PostgreSQL, and lone surrogates, refused
    by any UTF-8 encoder, become U+FFFD); nesting is bounded by max_depth (None: only by Python's
    recursion limit) so the value can be written back. Also used on webhook bodies (salesbot.providers)."""
    if max_depth is not None and depth > max_depth:
        raise LineError(f"nested deeper than {max_depth} levels")
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(k, depth + 1, max_depth): storable(v, depth + 1, max_depth) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v, depth + 1, max_depth) for v in value]
    return value


def read_lines(path: Path, rel: str, errors: list[str]):
    """Yield (lineno, obj) for every parsable line; report the others."""
    data = path.read_bytes()
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()  # the file ends with a newline
    last_unterminated = not data.endswith(b"\n")
    for i, line in enumerate(raw, 1):
        if not line.strip():
            continue
        try:
            obj = storable(loads(line.decode("utf-8")))
        except UnicodeDecodeError:
            errors.append(f"{rel}:{i}: not UTF-8")
            continue
        except json.JSONDecodeError as e:
            truncated = i == len(raw) and last_unterminated
            what = "truncated last line" if truncated else "invalid JSON"
            errors.append(f"{rel}:{i}: {what} ({e.msg} at column {e.colno})")
            continue
        except (ValueError, RecursionError) as e:  # NaN, an integer too long, nesting, too deep
            errors.append(f"{rel}:{i}: invalid JSON ({e if isinstance(e, ValueError) else 'nested too deeply'})")
            continue
        yield i, obj


def import_key(slug: str, fan_id: int, obj, k: int) -> str:
    canonical = json.dumps(obj, sort_keys=True)
    return hashlib.sha1(f"{slug}|{fan_id}|{canonical}|{k}".encode()).hexdigest()


# ---- state files ----------------------------------------------------------------------------------


MAX_COUNT = 2**31 - 1  # the fan's counters are PositiveIntegerFields: a bigger count would overflow the column


def _count(v, name):
    fits = _isnum(v) and math.isfinite(v) and 0 <= v <= MAX_COUNT and v == int(v)
    return _ok(int(v) if fits else v, fits, f"invalid {name} {v!r} (a whole number from 0 to {MAX_COUNT:,})")


def _list(v, name):
    return _ok(v or [], v is None or isinstance(v, list), f"{name} must be a list")


STATE_FIELDS = {
    "state": lambda v, n: _ok(v, v in FanState.values, f"unknown state {v!r}"),
    "name": lambda v, n: _text(v, n, 200),
    "messages_sent": _count,
    "messages_received": _count,
    "total_spent": lambda v, n: _money(v, n, 10) or Decimal(0),
    "last_ppv_price": lambda v, n: _money(v, n, 8),
    "content_sent": _list,
    "last_interaction_ts": lambda v, n: None if v is None else _ts(v),
    "created_ts": lambda v, n: _ts(v),
    "signals": _list,
    "notes": lambda v, n: _text(v, n),
    # Our export's extra keys: what protects the fan, and the holdout arm.
    "safety_flag": lambda v, n: _ok(v, isinstance(v, bool), f"{n} must be true or false"),
    "opted_out": lambda v, n: _ok(v, isinstance(v, bool), f"{n} must be true or false"),
    "handoff_reason": lambda v, n: _text(v, n, 200),
    "excluded": lambda v, n: _ok(v, isinstance(v, bool), f"{n} must be true or false"),
    "arm": lambda v, n: _ok(v or "", v in (*ARMS, "", None), f"unknown arm {v!r}"),
}
# Fields that protect the fan: a state file can set them (flag, opt out, hand off), never clear them.
PROTECTIVE = ("safety_flag", "opted_out", "handoff_reason")


def _line_of(text: str, key: str) -> int:
    m = re.search(rf'"{re.escape(key)}"\s*:', text)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def read_state(path: Path, rel: str, fan_id: int, errors: list[str]) -> tuple[dict, list[str]]:
    """Parse a state file into Fan field values; bad fields are reported and left out."""
    try:
        text = path.read_text("utf-8")
        data = storable(loads(text))
    except UnicodeDecodeError:
        errors.append(f"{rel}:1: not UTF-8")
        return {}, []
    except json.JSONDecodeError as e:
        errors.append(f"{rel}:{e.lineno}: invalid JSON ({e.msg} at column {e.colno})")
        return {}, []
    except (ValueError, RecursionError) as e:
        errors.append(f"{rel}:1: invalid JSON ({e if isinstance(e, ValueError) else 'nested too deeply'})")
        return {}, []
    if not isinstance(data, dict):
        errors.append(f"{rel}:1: not a JSON object")
        return {}, []
    values, unknown = {}, []
    for key, v in data.items():
        try:
            if key == "fan_id":
                if v != fan_id or isinstance(v, bool):
                    raise LineError(f"fan_id {v!r} does not match the file name; using {fan_id}")
            elif key in STATE_FIELDS:
                values[key] = STATE_FIELDS[key](v, key)
            else:
                unknown.append(key)
        except LineError as e:
            left = "; state left as is" if key == "state" else ""
            errors.append(f"{rel}:{_line_of(text, key)}: {e}{left}")
    return values, unknown
