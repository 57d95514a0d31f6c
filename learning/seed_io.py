"""Import and export of the seed's per-fan log files (seed §3, §4, §7): the users' migration path.

Import is idempotent: every line gets an `import_key` derived from its content and its occurrence
index within the file, so re-running, or importing a file the seed daemon has appended to since,
inserts only what is new. Export writes the same formats back so a round trip keeps every event.
"""
import hashlib
import heapq
import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import groupby
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import F

from fans.models import Fan
from fans.state_machine import FanState
from learning import rollup
from learning.attribution import reattribute_fan
from learning.models import Action, Outcome
from models_registry.models import Creator

BATCH = 500
CENT = Decimal("0.01")
ACTION_KEYS = ("action", "content_key", "price", "hook", "fan_state", "fan_total_spent", "response_time_s")
OUTCOME_KEYS = ("event", "amount")


class SeedIOError(Exception):
    """A problem with the whole import or export (the command turns it into a CommandError)."""


class LineError(ValueError):
    """One line (or field) is unusable; reported as `file:line: reason` and skipped."""


@dataclass
class ImportReport:
    files: int = 0
    fans: int = 0
    fans_created: int = 0
    fans_updated: int = 0
    actions: int = 0
    outcomes: int = 0
    duplicates_skipped: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        updated = f", {self.fans_updated} updated" if self.fans_updated else ""
        head = (f"Imported {self.fans} fans ({self.fans_created} new{updated}), {self.actions} actions, "
                f"{self.outcomes} outcomes; {self.duplicates_skipped} duplicates skipped; "
                f"{len(self.errors)} lines with errors" + (":" if self.errors else "."))
        warn = [f"warning: {w}" for w in self.warnings]
        return [head, *self.errors, *warn]


@dataclass
class ExportReport:
    fans: int = 0
    actions: int = 0
    outcomes: int = 0
    files: int = 0


# ---- parsing -------------------------------------------------------------------------------------

def _ok(value, good: bool, reason: str):
    if not good:
        raise LineError(reason)
    return value


def _isnum(v) -> bool:
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


def parse_record(obj) -> tuple[str, dict]:
    """One JSONL object -> ("action"|"outcome", model field values incl. ts and extra)."""
    if not isinstance(obj, dict):
        raise LineError("not a JSON object")
    if "ts" not in obj:
        raise LineError("missing ts")
    ts = _ts(obj["ts"])
    kind = obj.get("type")
    if kind == "action":
        if not obj.get("action"):
            raise LineError("action line without 'action'")
        f = {"action": _text(obj["action"], "action", 20),
             "content_key": _text(obj.get("content_key"), "content_key", 80),
             "price": _money(obj.get("price"), "price", 8),
             "hook": _text(obj.get("hook"), "hook", 40),
             "fan_state": _text(obj.get("fan_state"), "fan_state", 20),
             "fan_total_spent": _money(obj.get("fan_total_spent"), "fan_total_spent", 10) or Decimal(0),
             "response_time_s": _float(obj.get("response_time_s"), "response_time_s")}
        known = ACTION_KEYS
    elif kind == "outcome":
        if not obj.get("event"):
            raise LineError("outcome line without 'event'")
        f = {"event": _text(obj["event"], "event", 20), "amount": _money(obj.get("amount"), "amount", 10)}
        known = OUTCOME_KEYS
    elif kind is None:
        raise LineError("missing type")
    else:
        raise LineError(f"unknown type {kind!r}")
    f["ts"] = ts
    f["extra"] = {k: v for k, v in obj.items() if k not in known and k not in ("ts", "type")}
    return kind, f


MAX_DEPTH = 64
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def loads(text: str):
    """json.loads, strict: NaN/Infinity (which the databases' JSON types refuse) are errors."""
    return json.loads(text, parse_constant=_no_constant)


def storable(value, depth=0):
    """Every string made storable as text (NUL, refused by PostgreSQL, and lone surrogates, refused
    by any UTF-8 encoder, become U+FFFD); nesting is bounded so the value can be written back."""
    if depth > MAX_DEPTH:
        raise LineError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(k, depth + 1): storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v, depth + 1) for v in value]
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


# ---- state files (§7) -----------------------------------------------------------------------------

def _count(v, name):
    return _ok(int(v) if _isnum(v) else v, _isnum(v) and v >= 0 and v == int(v), f"invalid {name} {v!r}")


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
}


def _line_of(text: str, key: str) -> int:
    m = re.search(r'"%s"\s*:' % re.escape(key), text)
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


# ---- import ---------------------------------------------------------------------------------------

def _fan_id(path: Path) -> int | None:
    return int(path.stem) if re.fullmatch(r"\d{1,18}", path.stem) else None


def import_seed_logs(root: Path, slug: str, progress=None) -> ImportReport:
    """Import ROOT/research/bot-outcomes/SLUG/*.jsonl and bot-state/SLUG/*.json into the DB.

    `progress(done_files, total_files)` is called after each fan. One transaction per fan (its
    log and state file), so an interruption never leaves a half-imported file.
    """
    root = Path(root)
    try:
        validate_slug(slug)
    except ValidationError:
        raise SeedIOError(f"invalid creator slug {slug!r}") from None
    log_dir, state_dir = (root / "research" / d / slug for d in ("bot-outcomes", "bot-state"))
    if not log_dir.is_dir():
        raise SeedIOError(f"no seed log directory at {log_dir}")
    report = ImportReport()
    units: dict[int, dict[str, Path]] = {}
    files = sorted(log_dir.glob("*.jsonl")) + (sorted(state_dir.glob("*.json")) if state_dir.is_dir() else [])
    total = len(files)
    for path in files:
        fid = _fan_id(path)
        if fid is None:
            report.files += 1
            report.errors.append(f"{_rel(path, root)}:1: file name is not a numeric fan id; file skipped")
        else:
            units.setdefault(fid, {})["log" if path.suffix == ".jsonl" else "state"] = path
    creator, _ = Creator.objects.get_or_create(
        slug=slug, defaults={"display_name": slug, "account_id": f"acct_{slug}"})
    for fid in sorted(units):
        _import_fan(creator, slug, fid, units[fid], root, report)
        report.files += len(units[fid])
        if progress:
            progress(report.files, total)
    return report


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


@transaction.atomic
def _import_fan(creator, slug: str, fan_id: int, paths: dict, root: Path, report: ImportReport):
    errors: list[str] = []
    rows = []
    if "log" in paths:
        rel = _rel(paths["log"], root)
        seen: Counter = Counter()
        for lineno, obj in read_lines(paths["log"], rel, errors):
            canonical = json.dumps(obj, sort_keys=True)
            k = seen[canonical]
            seen[canonical] += 1
            try:
                kind, values = parse_record(obj)
            except LineError as e:
                errors.append(f"{rel}:{lineno}: {e}")
                continue
            rows.append((import_key(slug, fan_id, obj, k), kind, values))
    state, unknown = {}, []
    if "state" in paths:
        state, unknown = read_state(paths["state"], _rel(paths["state"], root), fan_id, errors)
    report.errors += errors
    if "log" not in paths and not state and not unknown:
        return  # an unreadable state file and no log: nothing to create
    if unknown:
        report.warnings.append(f"{_rel(paths['state'], root)}: fields not imported: {', '.join(unknown)}")

    fan, created = Fan.objects.get_or_create(creator=creator, fan_id=fan_id)
    report.fans += 1
    report.fans_created += created
    changed = [k for k, v in state.items() if getattr(fan, k) != v]
    if created and "created_ts" not in state and rows:
        state["created_ts"] = min(v["ts"] for _, _, v in rows)  # better than the import time
        changed.append("created_ts")
    for k in changed:
        setattr(fan, k, state[k])
    if changed:
        fan.save(update_fields=changed)
        report.fans_updated += not created

    existing = _existing_keys([key for key, _, _ in rows])
    new = [r for r in rows if r[0] not in existing]
    report.duplicates_skipped += len(rows) - len(new)
    if not new:
        return
    new.sort(key=lambda r: r[2]["ts"])  # stable: file order breaks ties
    Fan.objects.filter(pk=fan.pk).update(event_seq=F("event_seq") + len(new))
    fan.refresh_from_db(fields=["event_seq"])
    seq = fan.event_seq - len(new)
    actions, outcomes = [], []
    for key, kind, values in new:
        seq += 1
        common = {"creator": creator, "fan": fan, "seq": seq, "import_key": key}
        if kind == "action":
            actions.append(Action(source=Action.Source.IMPORT, status=Action.Status.LOGGED, **common, **values))
        else:
            outcomes.append(Outcome(**common, **values))
    Action.objects.bulk_create(actions, batch_size=BATCH)
    Outcome.objects.bulk_create(outcomes, batch_size=BATCH)
    rollup.record(creator.pk, [c for a in actions for c in rollup.action_cells(a)]
                  + [(rollup.TOTAL, "outcomes", "", len(outcomes), 0)])
    report.actions += len(actions)
    report.outcomes += len(outcomes)
    reattribute_fan(fan)  # sets the purchased/ghosted flags, recording their changes in the counters
    if outcomes:
        rollup.refresh_buyer(fan.pk, creator.pk)


def _existing_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), BATCH):
        chunk = keys[i:i + BATCH]
        for model in (Action, Outcome):
            found.update(model.objects.filter(import_key__in=chunk).values_list("import_key", flat=True))
    return found


# ---- export ---------------------------------------------------------------------------------------

def _ts_out(dt: datetime | None):
    if dt is None:
        return None
    return int(dt.timestamp()) if dt.microsecond == 0 else dt.timestamp()


def _num(d):
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


def seed_record(kind: str, row: dict) -> dict:
    """One Action/Outcome (as .values()) -> the seed's JSONL object; empty optional fields omitted."""
    keys = ACTION_KEYS if kind == "action" else OUTCOME_KEYS
    rec = {"ts": _ts_out(row["ts"]), "type": kind, keys[0]: row[keys[0]]}
    for k in keys[1:]:
        v = _num(row[k]) if k in ("price", "fan_total_spent", "amount") else row[k]
        if v is not None and v != "":
            rec[k] = v
    for k, v in (row["extra"] or {}).items():
        rec.setdefault(k, v)  # the named fields win over a stray extra of the same name
    return rec


def state_record(fan: Fan) -> dict:
    return {"fan_id": fan.fan_id, "state": fan.state, "name": fan.name, "messages_sent": fan.messages_sent,
            "messages_received": fan.messages_received, "total_spent": float(fan.total_spent),
            "last_ppv_price": _num(fan.last_ppv_price), "content_sent": fan.content_sent,
            "last_interaction_ts": _ts_out(fan.last_interaction_ts), "created_ts": _ts_out(fan.created_ts),
            "signals": fan.signals, "notes": fan.notes}


def _write(path: Path, text: str):
    """Write via a temporary file so a crash never leaves a half-written log."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def export_seed_logs(creator: Creator, root: Path) -> ExportReport:
    """Write every action (whatever its source) and outcome of `creator` in the seed's formats."""
    root = Path(root)
    log_dir, state_dir = (root / "research" / d / creator.slug for d in ("bot-outcomes", "bot-state"))
    log_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    fans = {f.pk: f for f in Fan.objects.filter(creator=creator)}

    def stream(model, kind, rank, keys):
        rows = (model.objects.filter(creator=creator).order_by("fan_id", "ts", "seq")
                .values("fan_id", "ts", "seq", "extra", *keys).iterator(chunk_size=2000))
        return ((r["fan_id"], r["ts"], r["seq"], rank, seed_record(kind, r)) for r in rows)

    merged = heapq.merge(stream(Action, "action", 0, ACTION_KEYS), stream(Outcome, "outcome", 1, OUTCOME_KEYS),
                         key=lambda r: r[:4])
    for fan_pk, events in groupby(merged, key=lambda r: r[0]):
        lines = []
        for _, _, _, kind, rec in events:
            lines.append(json.dumps(rec, separators=(",", ":"), ensure_ascii=False))
            report.outcomes += kind
            report.actions += 1 - kind
        _write(log_dir / f"{fans[fan_pk].fan_id}.jsonl", "\n".join(lines) + "\n")
        report.files += 1
    for fan in fans.values():
        _write(state_dir / f"{fan.fan_id}.json", json.dumps(state_record(fan), indent=2, ensure_ascii=False) + "\n")
        report.files += 1
        report.fans += 1
    return report
