"""Keeping, bounding and editing what the bot remembers about a fan (fans.facts)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fans import facts
from fans.models import FanFact


def texts(fan):
    return facts.for_prompt(fan)


def test_a_free_fact_said_twice_is_one_fact(fan):
    facts.remember(fan, "Has a dog.", source="llm")
    facts.remember(fan, "has a   dog", source="rules")
    assert texts(fan) == ["Has a dog."]


def test_too_long_or_empty_facts_are_not_kept(fan):
    assert facts.remember(fan, "x" * (facts.FACT_MAX_CHARS + 1), source="llm") is None
    assert facts.remember(fan, "   ", source="llm") is None
    assert not FanFact.objects.exists()


def test_the_oldest_learned_facts_make_room_and_staffs_stay(fan):
    t0 = timezone.now() - timedelta(days=10)
    facts.remember(fan, "prefers evenings", source="staff", ts=t0)
    for i in range(facts.MAX_FACTS + 5):
        facts.remember(fan, f"learned {i}", source="rules", ts=t0 + timedelta(minutes=i))
    kept = texts(fan)
    assert len(kept) == facts.MAX_FACTS and kept[0] == "prefers evenings"
    assert "learned 0" not in kept and f"learned {facts.MAX_FACTS + 4}" in kept


def test_staff_edit_changes_forgets_and_adds(fan):
    job = facts.remember(fan, "works as a nurse", key="job", source="rules")
    dog = facts.remember(fan, "has a dog", source="llm")
    facts.edit(fan, changed={job.pk: "works as a nurse at St Mary's"}, deleted={dog.pk}, added=["prefers evenings"])
    rows = {f.text: (f.key, f.source) for f in fan.facts.all()}
    assert rows == {
        "works as a nurse at St Mary's": ("job", "staff"),
        "prefers evenings": ("text:prefers evenings", "staff"),
    }
    facts.remember(fan, "works as a teacher", key="job", source="rules")  # the fan's newer word on the topic
    assert set(texts(fan)) == {"prefers evenings", "works as a teacher"}


def test_staff_edit_refuses_a_fact_too_long_and_changes_nothing(fan):
    job = facts.remember(fan, "works as a nurse", key="job", source="rules")
    with pytest.raises(ValueError, match="one short line"):
        facts.edit(fan, changed={job.pk: "works as a nurse"}, added=["x" * 200])
    assert texts(fan) == ["works as a nurse"]
