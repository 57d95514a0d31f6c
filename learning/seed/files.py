"""Import and export of the seed's per-fan log files (docs/operations.md#importing-the-seeds-logs): the users'
migration path.

Import is idempotent: every line gets an `import_key` derived from its content and its occurrence
index within the file, so re-running, or importing a file the seed daemon has appended to since,
inserts only what is new. Export writes the same formats back so a round trip keeps every event.
The files are history, not orders: what a state file may still change on a stored fan, and the whale
scores of the imported fans, are learning.seed.state's.
"""

import heapq
import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import F

from fans.models import Fan
from learning.attribution import reattribute_fan
from learning.models import Action, Outcome
from learning.seed.format import (
    ACTION_KEYS,
    ACTION_MARKS,
    EXACT_TS,
    OUTCOME_KEYS,
    LineError,
    SeedIOError,
    import_key,
    parse_record,
    read_lines,
    read_state,
)
from learning.seed.state import apply_state_file, score_fans
from learning.stats import cells, counters
from learning.stats.cells import COUNTED_STATUSES
from models_registry.models import Creator

BATCH = 500


@dataclass
class ImportReport:
    files: int = 0
    fans: int = 0
    fans_created: int = 0
    fans_updated: int = 0
    actions: int = 0
    outcomes: int = 0
    duplicates_skipped: int = 0
    fans_kept: int = 0  # stored fans whose state file differs somewhere but was not applied there
    kept_fields: Counter = field(default_factory=Counter)
    scores_changed: int = 0
    whales_marked: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fan_pks: list[int] = field(default_factory=list, repr=False)

    def summary_lines(self) -> list[str]:
        updated = f", {self.fans_updated} updated" if self.fans_updated else ""
        if self.fans_kept:
            fields = ", ".join(f"{k} {n}" for k, n in self.kept_fields.most_common())
            updated += f"; newer values kept for {self.fans_kept}: {fields}"
        whales = (
            f"; whale scores: {self.scores_changed} changed, {self.whales_marked} new whale candidates"
            if self.scores_changed or self.whales_marked
            else ""
        )
        head = (
            f"Imported {self.fans} fans ({self.fans_created} new{updated}), {self.actions} actions, "
            f"{self.outcomes} outcomes; {self.duplicates_skipped} duplicates skipped{whales}; "
            f"{len(self.errors)} lines with errors" + (":" if self.errors else ".")
        )
        warn = [f"warning: {w}" for w in self.warnings]
        return [head, *self.errors, *warn]


@dataclass
class ExportReport:
    fans: int = 0
    actions: int = 0
    outcomes: int = 0
    files: int = 0


# ---- parsing -------------------------------------------------------------------------------------

# ---- import ---------------------------------------------------------------------------------------


def _fan_id(path: Path) -> int | None:
    return int(path.stem) if re.fullmatch(r"\d{1,18}", path.stem) else None


def import_seed_logs(root: Path, slug: str, progress=None) -> ImportReport:
    """Import ROOT/research/bot-outcomes/SLUG/*.jsonl and bot-state/SLUG/*.json into the DB.

    `progress(done_files, total_files)` is called after each fan. One transaction per fan (its
    log and state file), so an interruption never leaves a half-imported file. Then every imported fan
    is scored (learning.whales), with `progress(done_fans, total_fans, "score")` after each batch.
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
    creator, _ = Creator.objects.get_or_create(slug=slug, defaults={"display_name": slug, "account_id": f"acct_{slug}"})
    for fid in sorted(units):
        _import_fan(creator, slug, fid, units[fid], root, report)
        report.files += len(units[fid])
        if progress:
            progress(report.files, total)
    score_progress = (lambda done, n: progress(done, n, "score")) if progress else None
    report.scores_changed, report.whales_marked = score_fans(report.fan_pks, score_progress)
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
    state: dict = {}
    unknown: list[str] = []
    if "state" in paths:
        state, unknown = read_state(paths["state"], _rel(paths["state"], root), fan_id, errors)
    report.errors += errors
    if "log" not in paths and not state and not unknown:
        return  # an unreadable state file and no log: nothing to create
    if unknown:
        report.warnings.append(f"{_rel(paths['state'], root)}: fields not imported: {', '.join(unknown)}")

    # Without a created_ts in the state file, the first event is a better guess than the import time.
    first = {"created_ts": min(v["ts"] for _, _, v in rows)} if rows else {}
    fan, created = Fan.objects.get_or_create(creator=creator, fan_id=fan_id, defaults=first)
    report.fans += 1
    report.fans_created += created
    report.fan_pks.append(fan.pk)
    if state.pop("excluded", False) and not creator.is_excluded(fan_id):
        creator.excluded_fan_ids = [*(creator.excluded_fan_ids or []), fan_id]
        creator.save(update_fields=["excluded_fan_ids"])
    if state:
        changed, kept = apply_state_file(fan, created, state)
        report.fans_updated += bool(changed) and not created
        report.fans_kept += bool(kept)
        report.kept_fields.update(kept)

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
    counters.record(
        creator.pk,
        [c for a in actions for c in cells.action_cells(a)] + [(cells.TOTAL, "outcomes", "", len(outcomes), 0)],
    )
    report.actions += len(actions)
    report.outcomes += len(outcomes)
    reattribute_fan(fan)  # sets the purchased/ghosted flags, recording their changes in the counters
    if outcomes:
        counters.refresh_buyer(fan.pk, creator.pk)


def _existing_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), BATCH):
        chunk = keys[i : i + BATCH]
        for model in (Action, Outcome):
            keys_found = model.objects.filter(import_key__in=chunk).values_list("import_key", flat=True)
            found.update(k for k in keys_found if k is not None)  # all of them: NULL is in no chunk
    return found


# ---- export ---------------------------------------------------------------------------------------


def _ts_out(dt: datetime | None):
    """Whole seconds, as the seed writes them (the exact time goes to `ts_exact`, see seed_record)."""
    if dt is None:
        return None
    return math.floor(dt.timestamp())


def _state_ts(dt: datetime | None):
    """A state file's times: exact (no extra key beside them), whole seconds when they are."""
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
    if row["ts"].microsecond:  # an extra key: the import takes it back, the seed's own `ts` stays an integer
        rec[EXACT_TS] = row["ts"].timestamp()
    for k in keys[1:]:
        v = _num(row[k]) if k in ("price", "fan_total_spent", "amount") else row[k]
        if v is not None and v != "":
            rec[k] = v
    if kind == "action":  # extra keys: the stats need them (learning.seed.format._action_marks)
        for k in ACTION_MARKS:
            if row.get(k):
                rec[k] = row[k]
    for k, v in (row["extra"] or {}).items():
        rec.setdefault(k, v)  # the named fields win over a stray extra of the same name
    return rec


def state_record(fan: Fan) -> dict:
    return {
        "fan_id": fan.fan_id,
        "state": fan.state,
        "name": fan.name,
        "messages_sent": fan.messages_sent,
        "messages_received": fan.messages_received,
        "total_spent": float(fan.total_spent),
        "last_ppv_price": _num(fan.last_ppv_price),
        "content_sent": fan.content_sent,
        "last_interaction_ts": _state_ts(fan.last_interaction_ts),
        "created_ts": _state_ts(fan.created_ts),
        "signals": fan.signals,
        "notes": fan.notes,
        # extra keys (the seed's stay as it writes them): what protects the fan, and the holdout arm
        "safety_flag": fan.safety_flag,
        "opted_out": fan.opted_out,
        "handoff_reason": fan.handoff_reason,
        "excluded": fan.creator.is_excluded(fan.fan_id),
        "arm": fan.arm,
    }


def _write(path: Path, text: str):
    """Write via a temporary file so a crash never leaves a half-written log."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def export_seed_logs(creator: Creator, root: Path, progress=None) -> ExportReport:
    """Write the actions that reached the fan (whatever their source) and every outcome of `creator` in
    the seed's formats. `progress(done_files, total_files)` is called after each file."""
    root = Path(root)
    log_dir, state_dir = (root / "research" / d / creator.slug for d in ("bot-outcomes", "bot-state"))
    log_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    fans = {f.pk: f for f in Fan.objects.filter(creator=creator).select_related("creator")}

    def stream(model, kind, rank, keys, **only):
        rows = (
            model.objects.filter(creator=creator, **only)
            .order_by("fan_id", "ts", "seq")
            .values("fan_id", "ts", "seq", "extra", *keys)
            .iterator(chunk_size=2000)
        )
        return ((r["fan_id"], r["ts"], r["seq"], rank, seed_record(kind, r)) for r in rows)

    # Only what reached the fan (as the seed logs it): a refused or failed send re-imported would count.
    sent = Action.objects.filter(creator=creator, status__in=COUNTED_STATUSES)
    with_events = set(sent.values_list("fan_id", flat=True)) | set(
        Outcome.objects.filter(creator=creator).values_list("fan_id", flat=True)
    )
    total = len(with_events) + len(fans)
    merged = heapq.merge(
        stream(Action, "action", 0, ACTION_KEYS + ACTION_MARKS, status__in=COUNTED_STATUSES),
        stream(Outcome, "outcome", 1, OUTCOME_KEYS),
        key=lambda r: r[:4],
    )
    for fan_pk, events in groupby(merged, key=lambda r: r[0]):
        lines = []
        for _, _, _, kind, rec in events:
            lines.append(json.dumps(rec, separators=(",", ":"), ensure_ascii=False))
            report.outcomes += kind
            report.actions += 1 - kind
        _write(log_dir / f"{fans[fan_pk].fan_id}.jsonl", "\n".join(lines) + "\n")
        report.files += 1
        if progress:
            progress(report.files, total)
    for fan in fans.values():
        _write(state_dir / f"{fan.fan_id}.json", json.dumps(state_record(fan), indent=2, ensure_ascii=False) + "\n")
        report.files += 1
        report.fans += 1
        if progress:
            progress(report.files, total)
    return report
