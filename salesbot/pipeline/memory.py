"""Learning durable facts about a fan as they appear, so the model's prompt remembers them (fans.facts).

Two writers: the rules read every fan message on arrival (learn_from_message: cheap patterns for "my dog's
name is Max", "i'm a nurse", "i live in Denver", "i love hiking", a birthday, an age; and how the fan
reacted to what they just bought, from the books), and the model's reply may carry a "facts" list
(learn_from_reply), checked like any other model output: short strings only, a bounded number, and never a
word the creator restricted. Nothing here decides what to send.
"""

import re
from datetime import timedelta

from fans.facts import FACT_MAX_CHARS, remember
from fans.models import FanFact, Message
from learning.models import Outcome
from salesbot.pipeline.contact import restricted_words_in
from salesbot.pipeline.safety import normalise

MAX_REPLY_FACTS = 5  # the model's facts kept from one reply
REACTION_WINDOW = timedelta(hours=48)  # a message this long after a purchase still speaks of it
# Where a phrase the fan wrote ends: punctuation or an emoji, the end, or a word that starts something else.
_END = (
    r"(?=\s*[^\w\s'-]|\s*$|\s+(?:and|but|so|because|cause|cuz|lol|haha|lmao|rn|too|though|tho|now|when|if"
    r"|babe|baby|hun|honey)\b)"
)
_WORDS = r"([\w'-]+(?:\s+[\w'-]+){0,4}?)"  # one to five words, as few as reach the end of the phrase
_PETS = r"dog|puppy|pup|cat|kitten|kitty|bird|parrot|horse|rabbit|bunny|hamster|snake|lizard|fish"
_JOBS = (
    "nurse|teacher|doctor|engineer|developer|programmer|mechanic|electrician|plumber|carpenter|chef|cook"
    "|truck driver|driver|trucker|pilot|firefighter|fireman|cop|police officer|soldier|student|lawyer"
    "|accountant|farmer|builder|bartender|waiter|barber|dentist|paramedic|pharmacist|vet|veterinarian"
    "|contractor|welder|salesman|manager|consultant|designer|photographer|musician|artist|writer"
    "|streamer|scientist|professor|banker|trader|realtor|security guard|miner|fisherman"
)
_FAVOURITES = "food|movie|film|band|song|game|team|color|colour|show|drink|sport|singer|book|artist|car"
_FAMILY = r"kids?|children|sons?|daughters?|grandkids?|dogs?|cats?|brothers?|sisters?"
_NAME_NOT = r"(?!(?:later|now|back|tomorrow|tonight|sometime|maybe|when|if|not|is|was|in|on|the|a|an|crazy)\b)"
_NOT_PLACE = r"(?!(?:work|school|college|the gym|gym|home|church|the office|bed|the store|shopping|the bar)\b)"
# "i love you", "i love your pics", "i love it", "i love how you..." say nothing about the fan.
_NOT_A_THING = re.compile(
    r"^(?:it|that|this|these|those|them|him|her|how|when|what|the way|everything|all)\b"
    r"|\b(?:you|u|ya|ur|your|yours|yourself)\b",
    re.I,
)
_THEIRS = {"my": "their", "me": "them", "mine": "theirs", "myself": "themselves", "i'm": "they're", "i": "they"}


def _p(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.I)


# (pattern, topic key or "" for a free fact, the stored line); {0}, {1}: the fan's words (the first lowercased
# when the pattern's own word, like "dog" or "love"); {date}, {today}, {tomorrow}: the message's day.
PATTERNS: list[tuple[re.Pattern, str, str]] = [
    (_p(rf"\bmy ({_PETS})(?:'s|s)? name is ([\w-]+)"), "pet:{0}", "{0}'s name: {1}"),
    (_p(rf"\bmy ({_PETS}) is called ([\w-]+)"), "pet:{0}", "{0}'s name: {1}"),
    (_p(rf"\bi (?:have|got) an? ({_PETS}) (?:named|called) ([\w-]+)"), "pet:{0}", "{0}'s name: {1}"),
    (
        _p(rf"\b(?:my name is|my name's|call me)\s+{_NAME_NOT}([a-z][\w-]{{1,20}})(?=\s*[^\w\s'-]|\s*$)"),
        "name",
        "likes to be called {0}",
    ),
    (_p(rf"\b(?:i'?m|i am) (a|an) ({_JOBS})\b"), "job", "works as {0} {1}"),
    (_p(rf"\bi work as (a|an) {_WORDS}{_END}"), "job", "works as {0} {1}"),
    (_p(rf"\bi work (at|in|for) {_WORDS}{_END}"), "job", "works {0} {1}"),
    (_p(rf"\bi (?:live|stay) in {_WORDS}{_END}"), "home", "lives in {0}"),
    (_p(rf"\b(?:i'?m|i am) (?:based|living) in {_WORDS}{_END}"), "home", "lives in {0}"),
    (_p(rf"\b(?:i'?m|i am) (?:originally )?from {_NOT_PLACE}{_WORDS}{_END}"), "from", "is from {0}"),
    (_p(r"\b(?:i'?m|i am) (married|single|divorced|engaged|widowed)\b"), "relationship", "is {0}"),
    (_p(rf"\bi have (a|an|one|two|three|four|five|\d) ({_FAMILY})\b(?!\s+(?:named|called))"), "has:{1}", "has {0} {1}"),
    (
        _p(r"\b(?:i'?m|i am|i just turned) (\d{2})(?: years old| yo| y/o| yrs old)?(?=\s*[^\w\s'-]|\s*$)"),
        "age",
        "is {0} (said on {date})",
    ),
    (_p(r"\b(?:i'?m|i am) (\d{2}) (?:years old|yo|y/o|yrs old)\b"), "age", "is {0} (said on {date})"),
    (_p(rf"\bmy (?:birthday|bday|b-day) is (?!tomorrow|today)(?:on )?{_WORDS}{_END}"), "birthday", "birthday: {0}"),
    (
        _p(r"\b(?:it'?s|today is|today's) my (?:birthday|bday|b-day)|\bmy (?:birthday|bday) is today\b"),
        "birthday",
        "birthday: {today}",
    ),
    (
        _p(r"\b(?:tomorrow is|tomorrow's) my (?:birthday|bday|b-day)|\bmy (?:birthday|bday) is tomorrow\b"),
        "birthday",
        "birthday: {tomorrow}",
    ),
    (_p(rf"\bmy fav(?:ou?rite)? ({_FAVOURITES}) is {_WORDS}{_END}"), "favourite:{0}", "favourite {0}: {1}"),
    (_p(rf"\bi (?:really |absolutely |just |also )?(love|like|enjoy|adore) {_WORDS}{_END}"), "", "{0}s {1}"),
    (_p(rf"\b(?:i'?m|i am) (?:really |so |big |also )?into {_WORDS}{_END}"), "", "is into {0}"),
    (_p(rf"\bmy hobb(?:y is|ies are) {_WORDS}{_END}"), "", "hobbies: {0}"),
]
_ABOUT_A_THING = {"{0}s {1}", "is into {0}", "hobbies: {0}"}  # the fan's words must name a thing, not "you"
# Lines whose {0} is the pattern's own word ("dog", "love", "a"), written lowercase whatever the fan typed.
_OWN_WORD_FIRST = {
    "{0}'s name: {1}",
    "has {0} {1}",
    "favourite {0}: {1}",
    "works as {0} {1}",
    "works {0} {1}",
    "{0}s {1}",
    "is {0}",
}


def read_facts(text: str, ts) -> list[tuple[str, str]]:
    """(topic key or "", fact line) for each fact the message states, in the third person; pure, so the
    patterns are easy to test."""
    text = normalise(text)
    day = {
        "date": f"{ts:%Y-%m-%d}",
        "today": f"{ts:%B} {ts.day}",
        "tomorrow": f"{ts + timedelta(days=1):%B} {(ts + timedelta(days=1)).day}",
    }
    found = []
    for pattern, key, line in PATTERNS:
        for m in pattern.finditer(text):
            words = [g for g in m.groups() if g]
            if line in _ABOUT_A_THING and _NOT_A_THING.search(words[-1]):
                continue
            if line in _OWN_WORD_FIRST:
                words[0] = words[0].lower()
            words = [" ".join(_THEIRS.get(w.lower(), w) for w in group.split()) for group in words]
            found.append((key.format(*(w.lower() for w in words)), line.format(*words, **day)))
    return found


def learn_from_message(fan, text: str, ts) -> list[FanFact]:
    """Everything the rules learn from one fan message (called once, on intake): what the fan says about
    themselves, and how they reacted to what they bought since their last message."""
    creator = fan.creator
    kept = []
    for key, line in read_facts(text, ts):
        if not restricted_words_in(creator, line):
            kept.append(remember(fan, line, key=key, source=FanFact.Source.RULES, ts=ts))
    reaction = _purchase_reaction(fan, text, ts) if fan.total_spent else None
    if reaction and not restricted_words_in(creator, reaction[1]):
        kept.append(remember(fan, reaction[1], key=reaction[0], source=FanFact.Source.RULES, ts=ts))
    return [f for f in kept if f is not None]


def _purchase_reaction(fan, text: str, ts) -> tuple[str, str] | None:
    """The fan's first words after buying something: 'bought combo3 ($25), then said: “loved it 😍”'."""
    text = normalise(text)
    if not text:
        return None
    before = (
        Message.objects.filter(fan=fan, direction=Message.Direction.IN, ts__lt=ts)
        .order_by("-ts", "-id")
        .values_list("ts", flat=True)
        .first()
    )
    since = max(before, ts - REACTION_WINDOW) if before else ts - REACTION_WINDOW
    bought = (
        Outcome.objects.filter(fan=fan, event=Outcome.Event.PURCHASED, ts__gt=since, ts__lte=ts)
        .select_related("action")
        .order_by("-ts", "-seq")
        .first()
    )
    if bought is None:
        return None
    action = bought.action if bought.action_id else None
    what = action.content_key if action is not None and action.content_key else "a PPV"
    price = f" (${bought.amount:.2f})".replace(".00)", ")") if bought.amount is not None else ""
    head = f"bought {what}{price}, then said: "
    room = FACT_MAX_CHARS - len(head) - 2
    said = text if len(text) <= room else text[: room - 1].rstrip() + "…"
    return f"reaction:{what}", f"{head}\u201c{said}\u201d"


def learn_from_reply(fan, data: dict) -> tuple[list[FanFact], list[str]]:
    """The model's optional "facts" (a list of short strings about the fan): the good ones stored, the rest
    refused with a reason each (never the decision itself: a bad fact does not cost a good message)."""
    raw = data.get("facts")
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [f"facts is a {type(raw).__name__}, not a list"]
    kept: list[FanFact] = []
    refused: list[str] = []
    for item in raw:
        why = _refusal(fan, item)
        if why is None and len(kept) >= MAX_REPLY_FACTS:
            why = f"more than {MAX_REPLY_FACTS} facts in one reply"
        if why:
            refused.append(why)
            continue
        fact = remember(fan, item, source=FanFact.Source.LLM)
        if fact is not None:
            kept.append(fact)
    return kept, refused


def _refusal(fan, item) -> str | None:
    if not isinstance(item, str):
        return f"a fact must be a string, not {type(item).__name__}"
    text = " ".join(item.split())
    if not text:
        return "an empty fact"
    if len(text) > FACT_MAX_CHARS:
        return f"a fact over {FACT_MAX_CHARS} characters"
    bad = restricted_words_in(fan.creator, text)
    if bad:
        return f"a fact with restricted word(s): {', '.join(bad)}"
    return None
