"""The cues in a fan message (buying, sexual, interest, emotional, custom request…) the router and the whale
score read (docs/architecture.md#routing, #whale-candidates): not Django signals, which live in
fans/signals.py and learning/signals.py.

Keyword lists are per creator (Creator.signal_keywords) so staff can tune them; these are defaults.
"""

import re

DEFAULT_KEYWORDS: dict[str, list[str]] = {
    "buying": [
        "how much",
        "price",
        "buy",
        "send it",
        "i want it",
        "unlock",
        "i'll pay",
        "take my money",
        "what do you have",
        "menu",
    ],
    "sexual": ["sexy", "hot", "naughty", "horny", "spicy", "nude", "body", "lingerie"],
    "interest": [
        "show me",
        "what are you up to",
        "what you doing",
        "more of you",
        "see more",
        "pics",
        "cute",
        "beautiful",
        "pretty",
    ],
    "emotional": [
        "love you",
        "miss you",
        "thinking about you",
        "you're the only",
        "my girl",
        "need you",
        "can't stop thinking",
    ],
    "custom_request": ["custom", "special request", "just for me", "personal video", "make me a", "say my name"],
}


FILLER_WORDS = {
    "ok",
    "okay",
    "k",
    "kk",
    "lol",
    "lmao",
    "haha",
    "hahaha",
    "hehe",
    "thanks",
    "thank you",
    "ty",
    "thx",
    "hi",
    "hey",
    "hello",
    "yo",
    "yes",
    "yeah",
    "yep",
    "no",
    "nope",
    "cool",
    "nice",
    "wow",
    "omg",
    "sure",
    "good",
    "great",
    "same",
    "hmm",
    "mhm",
    "aw",
    "aww",
    "awww",
    "good morning",
    "gm",
    "gn",
    "night",
}


# A greeting: one or more of these, then only words that address her ("hey babe", "good morning beautiful").
GREETING_WORDS = {
    "hi",
    "hey",
    "hello",
    "hiya",
    "heya",
    "howdy",
    "yo",
    "sup",
    "hola",
    "morning",
    "evening",
    "afternoon",
    "night",
    "good",
    "gm",
    "gn",
    "wassup",
    "wasup",
    "whassup",
    "whatsup",
    "wazzup",
    "wyd",
    "hru",
}
ADDRESS_WORDS = {
    "babe",
    "babes",
    "baby",
    "bby",
    "bb",
    "there",
    "you",
    "u",
    "again",
    "all",
    "my",
    "hun",
    "hon",
    "honey",
    "sweetie",
    "sweety",
    "sweetheart",
    "cutie",
    "darling",
    "dear",
    "girl",
    "gorgeous",
    "beautiful",
    "pretty",
    "sexy",
    "lovely",
    "beauty",
    "stranger",
    "mama",
    "mami",
    "princess",
    "queen",
    "angel",
    "doll",
    "lady",
    "love",
    "luv",
    "bae",
    "hottie",
    "boo",
    "mine",
    "xo",
    "xoxo",
    "x",
    "xx",
}
_RUNS = re.compile(r"(\w)\1+")


def _squeeze(word: str) -> str:
    """One letter per run, so "heyyy", "hiii" and "gooood" read as "hey", "hi" and "good" do."""
    return _RUNS.sub(r"\1", word)


_FILLER, _GREETING, _ADDRESS = ({_squeeze(w) for w in words} for words in (FILLER_WORDS, GREETING_WORDS, ADDRESS_WORDS))


def is_filler(text: str, names=()) -> bool:
    """Emojis, punctuation, a stock word or a simple greeting ("hey babe", "hi there", "good morning babe",
    "hey <her name>", "ok babe", "wassup babe"): nothing an LLM call could improve on (the router's `filler`
    row). `names`: the creator's own."""
    if not (text or "").strip():
        return False  # no message at all (a bump, a welcome) is not filler
    words = [_squeeze(w) for w in re.sub(r"[^\w\s']", " ", text.lower()).split()]
    if not words or " ".join(words) in _FILLER or all(w in _FILLER for w in words):
        return True
    # A greeting or a stock word ("ok", "thx", "lol"), then only words that address her: "ok babe", "ty babe".
    greeting = 0
    while greeting < len(words) and (words[greeting] in _GREETING or words[greeting] in _FILLER):
        greeting += 1
    addressed = _ADDRESS | _FILLER | {_squeeze(n.lower()) for n in names}
    return greeting > 0 and all(w in addressed for w in words[greeting:])


def keywords(creator) -> dict[str, list[str]]:
    custom = getattr(creator, "signal_keywords", None) or {}
    return {name: [w.lower() for w in custom.get(name, words)] for name, words in DEFAULT_KEYWORDS.items()}


def _contains(text: str, phrase: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text) is not None


def detect(creator, text: str) -> set[str]:
    """The signals present in one message."""
    low = (text or "").lower()
    return {name for name, words in keywords(creator).items() if any(_contains(low, w) for w in words)}
