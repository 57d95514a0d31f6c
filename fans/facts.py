"""What the bot remembers about a fan: storing, bounding and editing FanFact rows.

Facts come from the rules reading each fan message and from the model's reply (salesbot.pipeline.memory),
and from staff on the fan's timeline page (edit()). Whoever writes, a fact is one short line
(FACT_MAX_CHARS) and a fan keeps at most MAX_FACTS: the oldest learned facts make room, staff's are never
dropped for a learned one. So the memory the prompt carries stays small whatever a fan says.
"""

import re

from django.db import transaction
from django.db.models import Case, When
from django.utils import timezone

from fans.models import FanFact

FACT_MAX_CHARS = 120
MAX_FACTS = 40
TEXT_KEY = "text:"


def clean(text) -> str:
    return " ".join(str(text or "").split())


def text_key(text: str) -> str:
    """A free fact's key: its words without case or punctuation, so "Has a dog." and "has a dog" are one fact."""
    return TEXT_KEY + " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())[:150]


def remember(fan, text: str, *, source: str, key: str = "", ts=None) -> FanFact | None:
    """Keep one fact (None if it is empty or longer than FACT_MAX_CHARS). A free fact said again is only
    refreshed; a topic's new fact (`key`, e.g. "job") replaces the old one, whoever wrote that."""
    text = clean(text)
    if not text or len(text) > FACT_MAX_CHARS:
        return None
    ts = ts or timezone.now()
    fact, created = FanFact.objects.get_or_create(
        fan=fan, key=key or text_key(text), defaults={"text": text, "source": source, "ts": ts}
    )
    if not created:
        if key and fact.text != text:
            fact.text, fact.source = text, source
        fact.ts = max(fact.ts, ts)
        fact.save(update_fields=["text", "source", "ts"])
    else:
        _prune(fan)
    return fact


def _prune(fan):
    """Over MAX_FACTS: the learned facts heard least recently go; staff's stay."""
    facts = list(FanFact.objects.filter(fan=fan).values_list("pk", "source").order_by("-ts", "-id"))
    if len(facts) <= MAX_FACTS:
        return
    room = max(0, MAX_FACTS - sum(1 for _, source in facts if source == FanFact.Source.STAFF))
    learned = [pk for pk, source in facts if source != FanFact.Source.STAFF]
    FanFact.objects.filter(pk__in=learned[room:]).delete()


def ordered(fan):
    """The fan's facts, most trusted first: staff's, then the most recently heard."""
    staff_first = Case(When(source=FanFact.Source.STAFF, then=0), default=1)
    return FanFact.objects.filter(fan=fan).order_by(staff_first, "-ts", "-id")


def for_prompt(fan) -> list[str]:
    return list(ordered(fan).values_list("text", flat=True))


@transaction.atomic
def edit(fan, *, changed: dict | None = None, deleted=(), added=()) -> None:
    """Staff's corrections on the timeline page: new texts for some facts (each keeps its topic and is
    now staff's), facts to forget, facts to add. Raises ValueError for a fact too long or too many."""
    facts = {f.pk: f for f in FanFact.objects.select_for_update().filter(fan=fan)}
    deleted = {pk for pk in deleted if pk in facts}
    FanFact.objects.filter(pk__in=deleted).delete()
    now = timezone.now()
    for pk, text in (changed or {}).items():
        fact, text = facts.get(pk), clean(text)
        if fact is None or pk in deleted or text == fact.text:
            continue
        _check(text)
        fact.text, fact.source, fact.ts = text, FanFact.Source.STAFF, now
        if fact.key.startswith(TEXT_KEY):
            fact.key = text_key(text)
            if FanFact.objects.filter(fan=fan, key=fact.key).exclude(pk=pk).exists():
                fact.delete()  # now says what another fact says: one of them is enough
                continue
        fact.save()
    for text in added:
        text = clean(text)
        if text:
            _check(text)
            fact = remember(fan, text, source=FanFact.Source.STAFF, ts=now)
            if fact is not None and fact.source != FanFact.Source.STAFF:  # staff confirmed what was learned
                FanFact.objects.filter(pk=fact.pk).update(source=FanFact.Source.STAFF)
    if FanFact.objects.filter(fan=fan, source=FanFact.Source.STAFF).count() > MAX_FACTS:
        raise ValueError(f"A fan keeps at most {MAX_FACTS} facts; remove some first.")


def _check(text: str):
    if len(text) > FACT_MAX_CHARS:
        raise ValueError(f"A fact is one short line (at most {FACT_MAX_CHARS} characters): {text[:40]}…")
