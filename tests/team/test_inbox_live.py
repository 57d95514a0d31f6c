"""The live inbox's cost follows the changes, not the open tabs or the team: a row is read and rendered once per
version and shared by everyone's tabs; time passing alone sends nothing (the browser moves the clocks); and
what the shared rows show is still each person's own (unread counts, the right filter)."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from fans.models import Message
from salesbot.inbox import live, selectors
from tests.factories import FanFactory
from tests.team_helpers import chatter

LIVE = "/admin/inbox/live/"


def wrote(fan, text, minutes_ago=0):
    return Message.objects.create(
        fan=fan, direction="in", text=text, ts=timezone.now() - timedelta(minutes=minutes_ago)
    )


@pytest.fixture
def reads(monkeypatch):
    """How many times the inbox read rows from the database (selectors.conversations), and for which fans."""
    calls = []
    real = selectors.conversations

    def counted(user, **kw):
        calls.append(kw.get("only"))
        return real(user, **kw)

    monkeypatch.setattr(selectors, "conversations", counted)
    return calls


def tab(user):
    c = Client()
    c.force_login(user)
    return c


def test_a_changed_row_is_read_once_for_the_whole_team_and_each_person_still_sees_their_own_marks(demo, reads):
    maria, ana = chatter("maria", demo), chatter("ana", demo)
    fan = FanFactory(creator=demo, name="Fay")
    wrote(fan, "hello")
    first, second, other = tab(maria), tab(maria), tab(ana)
    stamps = [c.get(LIVE).json()["stamp"] for c in (first, second, other)]
    selectors.mark_read(ana, fan)  # ana read "hello"; maria has not
    fan.held_by, fan.human_hold_until = maria, timezone.now() + timedelta(minutes=10)
    fan.save()
    wrote(fan, "are you there?? 🥺")
    reads.clear()
    a = first.get(LIVE, {"stamp": stamps[0]}).json()
    b = second.get(LIVE, {"stamp": stamps[1]}).json()
    c = other.get(LIVE, {"stamp": stamps[2]}).json()
    assert reads == [{fan.pk}]  # one read of the fan's row, however many people look (a hold: the whole list)
    assert a["list"] == b["list"]
    mine, hers = a["list"], c["list"]
    assert "are you there??" in mine and "are you there??" in hers
    assert "held by you" in mine and 'title="unread">2<' in mine and 'data-awaiting-me="1"' in mine
    assert "held by maria" in hers and 'title="unread">1<' in hers and 'data-awaiting-me="0"' in hers
    mine_only = other.get(LIVE, {"show": "mine"}).json()["list"]
    assert "Fay" not in mine_only and "Fay" in first.get(LIVE, {"show": "mine"}).json()["list"]
    wrote(fan, "hellooo")  # a message alone: only the changed row goes out, still read once for both
    reads.clear()
    mine = first.get(LIVE, {"stamp": a["stamp"]}).json()["rows"][str(fan.pk)]
    hers = other.get(LIVE, {"stamp": c["stamp"]}).json()["rows"][str(fan.pk)]
    assert reads == [{fan.pk}] and 'title="unread">3<' in mine and 'title="unread">2<' in hers


def test_time_passing_changes_no_stamp_and_each_waiting_row_carries_its_clock_for_the_browser(demo, monkeypatch):
    maria = chatter("maria", demo)
    demo.first_response_minutes = 5
    demo.save()
    fan = FanFactory(
        creator=demo, name="Custom", state="handed_off", handoff_reason="custom request", needs_human_since=None
    )
    msg = wrote(fan, "can you make me a custom video?", minutes_ago=2)
    before = live.stamp(maria)
    with monkeypatch.context() as m:
        later = timezone.now() + timedelta(minutes=10)
        m.setattr(timezone, "now", lambda: later)
        m.setattr(time, "time", lambda: later.timestamp())
        assert live.stamp(maria) == before  # no whole-list reload for every tab when the clock moves on
    html = tab(maria).get(LIVE).json()["list"]
    deadline = int(msg.ts.timestamp()) + 5 * 60
    assert f'data-deadline="{deadline}"' in html and 'data-minutes="5"' in html


def test_a_filtered_tab_still_drops_a_row_that_left_its_filter(demo):
    maria = chatter("maria", demo)
    fan = FanFactory(creator=demo, name="Sale", state="handed_off", handoff_reason="custom request")
    wrote(fan, "custom please")
    t = tab(maria)
    start = t.get(LIVE, {"show": "human"}).json()
    assert "Sale" in start["list"]
    fan.state, fan.handoff_reason = "engaged", ""
    fan.save()
    Message.objects.create(fan=fan, direction="out", text="sure, here you go")
    moved = t.get(LIVE, {"show": "human", "stamp": start["stamp"]}).json()
    assert moved["rows"] == {str(fan.pk): None}  # given back to the bot: out of "needs a human"


def test_the_open_conversation_is_read_by_the_poll_and_its_row_says_so(demo):
    maria = chatter("maria", demo)
    fan = FanFactory(creator=demo, name="Fay")
    wrote(fan, "hello")
    t = tab(maria)
    start = t.get(LIVE, {"fan": fan.pk, "visible": "1"}).json()
    wrote(fan, "are you there?")
    d = t.get(LIVE, {"stamp": start["stamp"], "fan": fan.pk, "fan_stamp": start["fan_stamp"], "visible": "1"}).json()
    assert "are you there?" in d["bubbles"]
    assert "are you there?" in d["rows"][str(fan.pk)] and "unread-count" not in d["rows"][str(fan.pk)]
