"""sqlonce: a statement compiled once answers exactly what the ORM answers, on either database, with new
arguments every call; a statement whose shape would depend on its arguments is refused, not run wrong."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import sqlonce
from fans.models import Fan, Message
from tests.factories import FanFactory

pytestmark = pytest.mark.django_db


def _fan_rows(pk, since):
    return (
        Fan.objects.filter(pk=pk, last_interaction_ts__gte=since)
        .order_by()
        .values_list("fan_id", "content_sent", "total_spent", "last_interaction_ts", "creator__slug")
    )


FAN_ROWS = sqlonce.select(_fan_rows, int, datetime)


def test_a_compiled_read_gives_the_orm_rows_with_new_arguments_and_no_recompiling(creator):
    now = timezone.now().replace(microsecond=0)
    a = FanFactory(creator=creator, fan_id=7_000_000_001, content_sent=["k1"], total_spent=Decimal("12.50"))
    b = FanFactory(creator=creator, fan_id=7_000_000_002, content_sent=[], total_spent=Decimal("0"))
    Fan.objects.filter(pk__in=[a.pk, b.pk]).update(last_interaction_ts=now)
    for fan in (a, b):
        assert FAN_ROWS.rows(fan.pk, now - timedelta(minutes=1)) == list(_fan_rows(fan.pk, now - timedelta(minutes=1)))
    assert FAN_ROWS.first(a.pk, now - timedelta(minutes=1)) == (
        7_000_000_001,  # a big integer goes through as one (PostgreSQL's Int8 wrapper is kept)
        ["k1"],  # JSON decoded,
        Decimal("12.50"),  # decimals as decimals,
        now,  # aware datetimes, as the ORM gives them
        "demo",
    )
    assert FAN_ROWS.first(a.pk, now + timedelta(minutes=1)) is None  # the datetime argument is used
    with CaptureQueriesContext(connection) as q:
        FAN_ROWS.rows(b.pk, now)
    assert len(q.captured_queries) == 1


def test_a_compiled_update_writes_what_queryset_update_writes(creator):
    fan = FanFactory(creator=creator, messages_received=3)
    bump = sqlonce.update(
        lambda pk, state, at: (
            Fan.objects.filter(pk=pk, state=state),
            {"messages_received": F("messages_received") + 1, "last_interaction_ts": at},
        ),
        int,
        str,
        datetime,
    )
    at = timezone.now().replace(microsecond=0)
    assert bump.run(fan.pk, "other-state", at) == 0  # the str argument is the filter's
    assert bump.run(fan.pk, fan.state, at) == 1
    fan.refresh_from_db()
    assert (fan.messages_received, fan.last_interaction_ts) == (4, at)


def test_an_argument_that_would_change_the_statement_is_refused(creator):
    fan = FanFactory(creator=creator)
    # The WHERE clause depends on the value (as `if pk:` would): not a plain value, so refused.
    shaped = sqlonce.select(lambda pk: Message.objects.filter(Q(pk=pk) if pk < 20500 else Q()).values_list("id"), int)
    with pytest.raises(ValueError, match="shape"):
        shaped.rows(fan.pk)
    unused = sqlonce.select(lambda pk, other: Fan.objects.filter(pk=pk).values_list("id"), int, int)
    with pytest.raises(ValueError, match="do not reach"):
        unused.rows(fan.pk, 1)


def test_insert_saves_a_new_row_as_save_would(creator):
    fan = FanFactory(creator=creator)
    at = timezone.now().replace(microsecond=0)
    msg = sqlonce.insert(Message(fan=fan, direction=Message.Direction.IN, text="hey 💕", ts=at, signals=["price"]))
    assert msg.pk is not None and not msg._state.adding
    stored = Message.objects.get(pk=msg.pk)
    assert (stored.fan_id, stored.text, stored.ts, stored.signals) == (fan.pk, "hey 💕", at, ["price"])
    with pytest.raises(TypeError, match="primary key"):  # a session's key is chosen by the caller, not the database
        sqlonce.insert(Session(session_key="k", session_data="", expire_date=at))


def test_insert_ignoring_conflicts_says_none_when_the_row_was_there(creator):
    from salesbot.models import QueueItem

    fan, at = FanFactory(creator=creator), timezone.now()

    def pending():
        return QueueItem(creator_id=creator.pk, fan=fan, waiting_since=at, not_before=at)

    first = sqlonce.insert(pending(), ignore_conflicts=True)
    assert first is not None and first.pk is not None
    assert sqlonce.insert(pending(), ignore_conflicts=True) is None  # one pending item per fan: nothing added
    assert QueueItem.objects.filter(fan=fan).count() == 1
