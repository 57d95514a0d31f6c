"""Reading a fan message for the signals the router (seed §10) and whale score (§8) use.

Keyword lists are per creator (Creator.signal_keywords) so staff can tune them; these are defaults.
"""
import re

DEFAULT_KEYWORDS: dict[str, list[str]] = {
    "buying": ["how much", "price", "buy", "send it", "i want it", "unlock", "i'll pay", "take my money",
               "what do you have", "menu"],
    "sexual": ["sexy", "hot", "naughty", "horny", "spicy", "nude", "body", "lingerie"],
    "interest": ["show me", "what are you up to", "what you doing", "more of you", "see more", "pics", "cute",
                 "beautiful", "pretty"],
    "emotional": ["love you", "miss you", "thinking about you", "you're the only", "my girl", "need you",
                  "can't stop thinking"],
    "custom_request": ["custom", "special request", "just for me", "personal video", "make me a", "say my name"],
}


FILLER_WORDS = {"ok", "okay", "k", "kk", "lol", "lmao", "haha", "hahaha", "hehe", "thanks", "thank you", "ty", "thx",
                "hi", "hey", "hello", "yo", "yes", "yeah", "yep", "no", "nope", "cool", "nice", "wow", "omg", "sure",
                "good", "great", "same", "hmm", "mhm", "aw", "aww", "awww", "good morning", "gm", "gn", "night"}


def is_filler(text: str) -> bool:
    """Emojis, punctuation or a stock word: nothing an LLM call could improve on (seed §9)."""
    if not (text or "").strip():
        return False  # no message at all (a bump, a welcome) is not filler
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    return not words or " ".join(words) in FILLER_WORDS or all(w in FILLER_WORDS for w in words)


def keywords(creator) -> dict[str, list[str]]:
    custom = getattr(creator, "signal_keywords", None) or {}
    return {name: [w.lower() for w in custom.get(name, words)] for name, words in DEFAULT_KEYWORDS.items()}


def _contains(text: str, phrase: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text) is not None


def detect(creator, text: str) -> set[str]:
    """The signals present in one message."""
    low = (text or "").lower()
    return {name for name, words in keywords(creator).items() if any(_contains(low, w) for w in words)}
