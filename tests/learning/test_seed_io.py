"""Seed log import/export: expected numbers come from the fixture lines written below."""

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fans.models import Fan
from learning.models import Action, Outcome
from learning.seed.files import export_seed_logs, import_seed_logs
from learning.services import record_action
from models_registry.models import Creator

pytestmark = pytest.mark.django_db

# Fan 111: ppvA (1200) and ppvB (1400) come before the purchase (1300) in the file, so only
# time order attributes the purchase to ppvA. Line 7 is an exact duplicate of line 6 (two tips).
FAN_111 = [
    '{"ts":1000,"type":"action","action":"welcome","hook":"curiosity","fan_state":"new","fan_total_spent":0}',
    '{"ts":1200,"type":"action","action":"ppv","content_key":"combo3","price":12.5,"hook":"scarcity",'
    '"fan_state":"engaged","fan_total_spent":0,"model_note":"x"}',
    '{"ts":1400,"type":"action","action":"ppv","content_key":"combo7","price":25,"fan_state":"buyer",'
    '"fan_total_spent":12.5,"response_time_s":4.5}',
    '{"ts":1300,"type":"outcome","event":"purchased","amount":12.5}',
    '{"ts":1100,"type":"outcome","event":"replied"}',
    '{"ts":1450,"type":"outcome","event":"tipped","amount":5}',
    '{"ts":1450,"type":"outcome","event":"tipped","amount":5}',
    '{"ts":1500.25,"type":"outcome","event":"ghosted","detector":{"hours":24}}',
]
STATE_111 = {
    "fan_id": 111,
    "state": "buyer",
    "name": "John",
    "messages_sent": 8,
    "messages_received": 12,
    "total_spent": 36.0,
    "last_ppv_price": 18,
    "content_sent": ["gfe_selfie", "combo3", "combo7"],
    "last_interaction_ts": 1708700000,
    "created_ts": 1708600000,
    "signals": ["sexual", "interest"],
    "notes": "",
}
STATE_333 = {"fan_id": 333, "state": "greeted", "name": "Ann"}

# Fan 222: errors on lines 2, 4, 5, 6, 7 and the truncated line 9; line 3 is blank.
FAN_222 = (
    '{"ts":1000,"type":"action","action":"text","fan_state":"engaged"}\n'
    '{"ts":1050,"type":"action"\n'
    "\n"
    '{"ts":"yesterday","type":"outcome","event":"replied"}\n'
    '{"ts":1100,"type":"message","text":"hi"}\n'
    "[1, 2]\n"
    '{"type":"outcome","event":"replied"}\n'
    '{"ts":1200,"type":"outcome","event":"replied"}\n'
    '{"ts":1300,"type":"outcome","ev'
)


def write_set(root, slug="t", errors=False):
    logs, states = root / "research" / "bot-outcomes" / slug, root / "research" / "bot-state" / slug
    logs.mkdir(parents=True, exist_ok=True)
    states.mkdir(parents=True, exist_ok=True)
    (logs / "111.jsonl").write_text("\n".join(FAN_111) + "\n")
    (states / "111.json").write_text(json.dumps(STATE_111, indent=2))
    (states / "333.json").write_text(json.dumps(STATE_333))
    if errors:
        (logs / "222.jsonl").write_text(FAN_222)
        (states / "222.json").write_text('{\n  "fan_id": 222,\n  "name": "Bo",\n  "state": "vip"\n}\n')
        (logs / "notes.jsonl").write_text('{"ts":1,"type":"outcome","event":"replied"}\n')
    return logs


def at(ts):
    return datetime.fromtimestamp(ts, tz=UTC)


def test_small_import_counts(tmp_path):
    write_set(tmp_path)
    r = import_seed_logs(tmp_path, "t")
    assert (r.files, r.fans, r.fans_created, r.actions, r.outcomes, r.duplicates_skipped, r.errors) == (
        3,
        2,
        2,
        3,
        5,
        0,
        [],
    )
    creator = Creator.objects.get(slug="t")
    assert (creator.display_name, creator.account_id) == ("t", "acct_t")
    assert Action.objects.filter(fan__fan_id=111, source="import", status="logged").count() == 3
    assert Outcome.objects.filter(fan__fan_id=111, event="tipped").count() == 2  # identical lines: two events
    ppv = Action.objects.get(content_key="combo3")
    assert ppv.price == Decimal("12.5") and ppv.extra == {"model_note": "x"} and ppv.ts == at(1200)
    assert Outcome.objects.get(event="ghosted").ts == at(1500.25)


def test_rerun_imports_nothing_new(tmp_path):
    write_set(tmp_path)
    import_seed_logs(tmp_path, "t")
    r = import_seed_logs(tmp_path, "t")
    assert (r.fans_created, r.fans_updated, r.actions, r.outcomes, r.duplicates_skipped) == (0, 0, 0, 0, 8)
    assert Action.objects.count() == 3 and Outcome.objects.count() == 5


def test_appended_lines_import_only_new_ones(tmp_path):
    logs = write_set(tmp_path)
    import_seed_logs(tmp_path, "t")
    with open(logs / "111.jsonl", "a") as f:
        f.write(FAN_111[5] + "\n")  # a third identical tip: a new event
        f.write('{"ts":1600,"type":"action","action":"rekindle","hook":"curiosity"}\n')
    r = import_seed_logs(tmp_path, "t")
    assert (r.actions, r.outcomes, r.duplicates_skipped) == (1, 1, 8)
    assert Outcome.objects.filter(event="tipped").count() == 3
    fan = Fan.objects.get(fan_id=111)
    assert fan.event_seq == 10
    assert Action.objects.get(action="rekindle").seq == 10


def test_line_caught_mid_write_is_imported_once_complete(tmp_path):
    logs = write_set(tmp_path)
    with open(logs / "111.jsonl", "a") as f:
        f.write('{"ts":1700,"type":"outcome","ev')  # the seed daemon is still writing this line
    r = import_seed_logs(tmp_path, "t")
    assert [e.split(": ")[0] for e in r.errors] == ["research/bot-outcomes/t/111.jsonl:9"]
    with open(logs / "111.jsonl", "a") as f:
        f.write('ent":"replied"}\n')
    r = import_seed_logs(tmp_path, "t")
    assert (r.errors, r.actions, r.outcomes, r.duplicates_skipped) == ([], 0, 1, 8)


def test_out_of_order_purchase_goes_to_the_earlier_ppv(tmp_path):
    write_set(tmp_path)
    import_seed_logs(tmp_path, "t")
    a, b = Action.objects.get(content_key="combo3"), Action.objects.get(content_key="combo7")
    assert (a.purchased, b.purchased) == (True, False)
    assert Outcome.objects.get(event="purchased").action == a
    assert Outcome.objects.get(event="ghosted").action == b and b.ghosted
    assert Outcome.objects.get(event="replied").action.action == "welcome"
    fan = Fan.objects.get(fan_id=111)
    events = sorted([*fan.actions.all(), *fan.outcomes.all()], key=lambda e: e.seq)
    assert [e.seq for e in events] == list(range(1, 9)) and fan.event_seq == 8
    assert [e.ts for e in events] == sorted(e.ts for e in events)


def test_seq_continues_after_live_events(tmp_path, creator):
    fan = Fan.objects.create(creator=creator, fan_id=111)
    record_action(fan, "welcome")
    write_set(tmp_path, slug="demo")
    import_seed_logs(tmp_path, "demo")
    assert sorted(Action.objects.filter(source="import").values_list("seq", flat=True)) == [2, 4, 6]
    assert Fan.objects.get(pk=fan.pk).event_seq == 9


def test_errors_are_reported_counted_and_the_rest_imported(tmp_path):
    write_set(tmp_path, errors=True)
    r = import_seed_logs(tmp_path, "t")
    f = "research/bot-outcomes/t/222.jsonl"
    prefixes = [e.split(": ")[0] for e in r.errors]
    assert prefixes == [
        "research/bot-outcomes/t/notes.jsonl:1",
        f"{f}:2",
        f"{f}:4",
        f"{f}:5",
        f"{f}:6",
        f"{f}:7",
        f"{f}:9",
        "research/bot-state/t/222.json:4",
    ]
    text = "\n".join(r.errors)
    assert f"{f}:2: invalid JSON" in text and f"{f}:4: invalid ts 'yesterday'" in text
    assert f"{f}:5: unknown type 'message'" in text and f"{f}:6: not a JSON object" in text
    assert f"{f}:7: missing ts" in text and f"{f}:9: truncated last line" in text
    assert "unknown state 'vip'" in r.errors[-1]
    assert (r.fans, r.actions, r.outcomes) == (3, 4, 6)  # fan 111's 8 events + lines 1 and 8 of 222
    assert Action.objects.filter(fan__fan_id=222).count() == 1
    assert Outcome.objects.filter(fan__fan_id=222).count() == 1
    bo = Fan.objects.get(fan_id=222)
    assert (bo.name, bo.state) == ("Bo", "new")  # the bad state is left as it was
    summary = r.summary_lines()
    assert summary[0].endswith("8 lines with errors:") and summary[1:] == r.errors


def test_state_file_fields_land_on_the_fan(tmp_path):
    write_set(tmp_path)
    import_seed_logs(tmp_path, "t")
    fan = Fan.objects.get(fan_id=111)
    assert (fan.state, fan.name, fan.messages_sent, fan.messages_received) == ("buyer", "John", 8, 12)
    assert (fan.total_spent, fan.last_ppv_price) == (Decimal("36"), Decimal("18"))
    assert fan.content_sent == ["gfe_selfie", "combo3", "combo7"] and fan.signals == ["sexual", "interest"]
    assert (fan.last_interaction_ts, fan.created_ts) == (at(1708700000), at(1708600000))
    ann = Fan.objects.get(fan_id=333)
    assert (ann.state, ann.name, ann.actions.count()) == ("greeted", "Ann", 0)


def test_state_change_counts_as_update(tmp_path):
    write_set(tmp_path)
    import_seed_logs(tmp_path, "t")
    (tmp_path / "research/bot-state/t/333.json").write_text('{"fan_id": 333, "state": "engaged"}')
    r = import_seed_logs(tmp_path, "t")
    assert (r.fans_created, r.fans_updated) == (0, 1)
    assert Fan.objects.get(fan_id=333).state == "engaged"


def test_command_prints_progress_and_summary(tmp_path):
    write_set(tmp_path)
    out = StringIO()
    call_command("import_seed_logs", str(tmp_path), creator="t", progress_every=1, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines == [
        "imported 2/3 files (66%)",
        "imported 3/3 files (100%)",
        "scored 2/2 fans (100%)",
        "Imported 2 fans (2 new), 3 actions, 5 outcomes; 0 duplicates skipped; "
        "whale scores: 1 changed, 0 new whale candidates; 0 lines with errors.",
    ]


def test_command_lists_error_lines(tmp_path):
    write_set(tmp_path, errors=True)
    out = StringIO()
    call_command("import_seed_logs", str(tmp_path), creator="t", stdout=out)
    text = out.getvalue()
    assert "8 lines with errors:" in text and "research/bot-outcomes/t/222.jsonl:9: truncated last line" in text


def test_missing_directory_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no seed log directory"):
        call_command("import_seed_logs", str(tmp_path), creator="nobody")
    assert not Creator.objects.filter(slug="nobody").exists()


def rows(slug):
    """Every event of a creator as comparable values, per platform fan id."""
    out = Counter()
    for a in Action.objects.filter(creator__slug=slug).select_related("fan"):
        out[
            (
                a.fan.fan_id,
                "a",
                a.ts,
                a.action,
                a.content_key,
                a.price,
                a.hook,
                a.fan_state,
                a.fan_total_spent,
                a.response_time_s,
                json.dumps(a.extra, sort_keys=True),
                a.purchased,
                a.ghosted,
            )
        ] += 1
    for o in Outcome.objects.filter(creator__slug=slug).select_related("fan", "action"):
        out[
            (
                o.fan.fan_id,
                "o",
                o.ts,
                o.event,
                o.amount,
                json.dumps(o.extra, sort_keys=True),
                o.action.ts if o.action else None,
            )
        ] += 1
    return out


def test_round_trip_keeps_every_event(tmp_path):
    write_set(tmp_path / "in", errors=True)
    import_seed_logs(tmp_path / "in", "t")
    live = Fan.objects.get(fan_id=333)
    record_action(live, "text", ts=at(2000), message_text="hi", source="llm")  # made by the live system

    r = export_seed_logs(Creator.objects.get(slug="t"), tmp_path / "out")
    assert (r.fans, r.actions, r.outcomes) == (3, 5, 6)
    exported = (tmp_path / "out/research/bot-outcomes/t/111.jsonl").read_text().splitlines()
    assert exported[2] == (
        '{"ts":1200,"type":"action","action":"ppv","content_key":"combo3","price":12.5,'
        '"hook":"scarcity","fan_state":"engaged","fan_total_spent":0,"model_note":"x"}'
    )
    # the seed's ts is whole seconds; the exact time rides along as an extra key the import takes back
    assert exported[-1] == '{"ts":1500,"type":"outcome","event":"ghosted","ts_exact":1500.25,"detector":{"hours":24}}'
    state = json.loads((tmp_path / "out/research/bot-state/t/111.json").read_text())
    assert {k: v for k, v in state.items() if k in STATE_111} == STATE_111
    assert {k: state[k] for k in set(state) - set(STATE_111)} == {
        "safety_flag": False,
        "opted_out": False,
        "handoff_reason": "",
        "excluded": False,
        "arm": "",
    }

    for kind in ("bot-outcomes", "bot-state"):
        (tmp_path / "out/research" / kind / "t").rename(tmp_path / "out/research" / kind / "u")
    again = import_seed_logs(tmp_path / "out", "u")
    assert again.errors == [] and (again.actions, again.outcomes) == (5, 6)
    assert rows("u") == rows("t") and sum(rows("t").values()) == 11
    fields = [
        "fan_id",
        "state",
        "name",
        "messages_sent",
        "messages_received",
        "total_spent",
        "last_ppv_price",
        "content_sent",
        "last_interaction_ts",
        "created_ts",
        "signals",
        "notes",
    ]
    assert list(Fan.objects.filter(creator__slug="u").values(*fields)) == list(
        Fan.objects.filter(creator__slug="t").values(*fields)
    )


def test_export_command(tmp_path):
    write_set(tmp_path / "in")
    import_seed_logs(tmp_path / "in", "t")
    out = StringIO()
    call_command("export_seed_logs", str(tmp_path / "out"), creator="t", stdout=out)
    assert out.getvalue().startswith("Exported 2 fans, 3 actions, 5 outcomes into 3 files")
    with pytest.raises(CommandError, match="no creator"):
        call_command("export_seed_logs", str(tmp_path / "out"), creator="missing")


def test_export_leaves_out_sends_that_never_reached_the_fan(tmp_path):
    """A refused or failed send is not in the seed's logs; exported and re-imported it would count as sent."""
    write_set(tmp_path / "in")
    import_seed_logs(tmp_path / "in", "t")
    fan = Fan.objects.get(fan_id=111)
    record_action(fan, "ppv", ts=at(3000), price=Decimal("30"), content_key="combo5", status="refused")
    record_action(fan, "ppv", ts=at(3100), price=Decimal("40"), content_key="combo7", status="failed")
    record_action(fan, "text", ts=at(3200), message_text="hey", status="sent")

    r = export_seed_logs(Creator.objects.get(slug="t"), tmp_path / "out")
    assert r.actions == 3 + 1  # the imported ones and the sent text
    text = (tmp_path / "out/research/bot-outcomes/t/111.jsonl").read_text()
    assert '"ts":3200' in text and '"ts":3000' not in text and '"ts":3100' not in text


def test_export_command_shows_progress(tmp_path):
    write_set(tmp_path / "in")
    import_seed_logs(tmp_path / "in", "t")
    out = StringIO()
    call_command("export_seed_logs", str(tmp_path / "out"), creator="t", progress_every=1, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["exported 1/3 files (33%)", "exported 2/3 files (66%)", "exported 3/3 files (100%)"]
    assert lines[-1].startswith("Exported 2 fans, 3 actions, 5 outcomes into 3 files")


def test_a_count_too_big_for_the_fans_column_is_an_error_not_a_crash(tmp_path):
    """A state file saying 9.2e18 messages (or infinity) is refused with its reason; the rest still imports."""
    write_set(tmp_path)
    (tmp_path / "research/bot-state/t/333.json").write_text(
        '{"fan_id": 333, "state": "engaged", "messages_sent": 9.2e18}'
    )
    r = import_seed_logs(tmp_path, "t")
    assert any("invalid messages_sent" in e and "whole number" in e for e in r.errors), r.errors
    assert Fan.objects.get(fan_id=111).messages_sent == 8
