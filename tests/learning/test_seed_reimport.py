"""Re-importing seed logs never undoes what happened live, and the imported fans get their whale scores.

Each test imports through the management command (as `make run` does on every start), changes fans the
way the live system does (ops API, webhooks, staff), then imports the same files again and newer ones.
"""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fans.models import Fan, FanTransition
from fans.staff import add_note, staff_mark_dormant
from salesbot.pipeline import intake
from tests.salesbot.unit.helpers import message_payload, store_event
from tests.team_helpers import manager

pytestmark = pytest.mark.django_db

DAY0 = 1708600000
STATES = {
    501: {"state": "dormant", "name": "Dan", "messages_received": 4, "total_spent": 18.0},
    502: {"state": "buyer", "name": "Olly", "messages_received": 3, "total_spent": 25.0},
    503: {"state": "engaged", "name": "Sid", "messages_received": 2},
    504: {"state": "buyer", "name": "Pat", "messages_sent": 6, "messages_received": 5, "total_spent": 40.0},
    505: {"state": "pitched", "name": "Flo", "messages_received": 1},
}


def write(root, states, logs=None):
    state_dir, log_dir = root / "research/bot-state/demo", root / "research/bot-outcomes/demo"
    state_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    for fid, values in states.items():
        (state_dir / f"{fid}.json").write_text(json.dumps({"fan_id": fid, "created_ts": DAY0, **values}))
    for fid, lines in (logs or {}).items():
        (log_dir / f"{fid}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def newer(**changes):
    """The same files as the seed daemon would have rewritten them later: each fan's fields changed."""
    return {fid: {**STATES[fid], **changes.get(str(fid), {})} for fid in STATES}


def run_import(root) -> str:
    out = StringIO()
    call_command("import_seed_logs", str(root), creator="demo", stdout=out)
    return out.getvalue().splitlines()[-1]


def fan(fid) -> Fan:
    return Fan.objects.get(fan_id=fid)


def live_message(creator, fid, text, msg_id):
    payload = message_payload(fid, text, msg_id, name=STATES[fid]["name"])
    intake.process_event(store_event(creator, "messages.received", payload))


@pytest.fixture
def staff_api(db):
    user = manager("ops")  # a manager: every creator, the role's permissions
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_reimport_leaves_a_fan_handed_off_through_the_ops_api(tmp_path, creator, staff_api):
    write(tmp_path, STATES)
    run_import(tmp_path)
    r = staff_api.post("/api/demo/fan/501/handoff", {"reason": "VIP, Mia takes him"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "handed_off"

    again = run_import(tmp_path)  # make run's restart: the same files
    write(tmp_path, newer(**{"501": {"state": "engaged", "messages_received": 9}}))
    latest = run_import(tmp_path)  # the seed daemon wrote to the fan since

    detail = staff_api.get("/api/demo/fan/501").json()
    assert (detail["state"], detail["handoff_reason"]) == ("handed_off", "VIP, Mia takes him")
    assert [h["to"] for h in detail["history"]] == ["handed_off"]
    assert detail["messages_received"] == 9  # what nothing live touched still follows the file
    assert "0 new; newer values kept for 1: state 1)" in again
    assert "0 new, 1 updated; newer values kept for 1: state 1)" in latest


def test_reimport_keeps_opt_outs_and_safety_flags(tmp_path, creator):
    write(tmp_path, STATES)
    run_import(tmp_path)
    live_message(creator, 502, "stop messaging me", 9001)  # opt-out
    live_message(creator, 503, "im only 16 btw", 9002)  # safety: handed off, flagged
    live_message(creator, 505, "i know where you live", 9003)  # flagged, then parked by staff
    staff_mark_dormant(fan(505), "mia")

    run_import(tmp_path)
    write(tmp_path, newer(**{"502": {"state": "dormant"}, "503": {"state": "pitched"}, "505": {"state": "engaged"}}))
    summary = run_import(tmp_path)

    olly, sid, flo = fan(502), fan(503), fan(505)
    assert (olly.state, olly.opted_out) == ("buyer", True)
    assert (sid.state, sid.safety_flag, sid.handoff_reason) == ("handed_off", True, "safety: possible minor")
    assert (flo.state, flo.safety_flag) == ("dormant", True)
    assert not FanTransition.objects.filter(reason="seed state file").exists()
    assert "newer values kept for 3: state 3, messages_received 3)" in summary


def test_reimport_never_rolls_back_live_spend_counters_or_notes(tmp_path, creator):
    write(tmp_path, STATES)
    run_import(tmp_path)
    live_message(creator, 504, "hey you", 9101)
    intake.process_event(store_event(creator, "tips.received", {"fan": {"id": 504, "name": "Pat"}, "amount": 25}))
    add_note(fan(504), "prefers evenings", "mia")
    live = fan(504)
    assert (live.total_spent, live.messages_received) == (Decimal("65"), 6)

    run_import(tmp_path)
    write(
        tmp_path,
        newer(
            **{"504": {"total_spent": 50.0, "messages_received": 8, "messages_sent": 9, "notes": "seed: likes feet"}}
        ),
    )
    summary = run_import(tmp_path)

    pat = fan(504)
    assert (pat.total_spent, pat.messages_received) == (Decimal("65"), 6)
    assert pat.notes.endswith("mia: prefers evenings")
    assert pat.messages_sent == 9  # not changed live: the newer file's value
    assert "1 updated; newer values kept for 1: " in summary
    assert all(f"{k} 1" in summary for k in ("total_spent", "messages_received", "notes"))


def test_newer_file_moves_an_untouched_fan_along_the_state_machine(tmp_path, creator):
    write(tmp_path, STATES)
    run_import(tmp_path)
    write(tmp_path, newer(**{"505": {"state": "engaged"}, "501": {"state": "new"}}))
    summary = run_import(tmp_path)
    assert fan(505).state == "engaged"
    t = FanTransition.objects.get(fan__fan_id=505)
    assert (t.from_state, t.to_state, t.reason, t.by_staff) == ("pitched", "engaged", "seed state file", False)
    assert fan(501).state == "dormant"  # dormant -> new is no legal move
    assert "1 updated; newer values kept for 1: state 1)" in summary


def buys(*amounts_at):
    return [
        {"ts": DAY0 + hours * 3600, "type": "outcome", "event": "purchased", "amount": amount}
        for amount, hours in amounts_at
    ]


def test_imported_big_spender_is_scored_and_becomes_a_whale_candidate(tmp_path, creator):
    big = {"state": "buyer", "name": "Rex", "messages_received": 30, "total_spent": 166.0}
    late = {"state": "buyer", "name": "Ned", "messages_received": 30, "total_spent": 166.0}
    write(tmp_path, {600: big, 601: late}, logs={600: buys((100, 1), (66, 5)), 601: buys((100, 30), (66, 31))})
    out = StringIO()
    call_command("import_seed_logs", str(tmp_path), creator="demo", progress_every=1, stdout=out)
    lines = out.getvalue().splitlines()
    assert "scored 2/2 fans (100%)" in lines
    assert "whale scores: 2 changed, 1 new whale candidates" in lines[-1]

    rex, ned = fan(600), fan(601)
    assert (rex.whale_score, rex.state) == (3, "whale_candidate")  # $100+ in the first 24h, 10+ messages
    assert (ned.whale_score, ned.state) == (1, "buyer")  # bought after day one: 10+ messages only
    t = FanTransition.objects.get(fan=rex)
    assert (t.from_state, t.to_state) == ("buyer", "whale_candidate")
    assert "$100+ spent in first 24h" in t.reason and "10+ messages received" in t.reason

    run_import(tmp_path)
    assert fan(600).state == "whale_candidate" and FanTransition.objects.filter(fan=rex).count() == 1
