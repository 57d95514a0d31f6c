"""What a fan's message asks for, so the rule path can answer it instead of pushing the next ladder line.

Signals (salesbot.pipeline.cues) say where a fan is in the sale; an intent says what this one message
wants answered: the price, more, a thank-you for a compliment, a word about the creator, a hello, or a
yes/no to the offer the bot just made. One intent per message, the first that matches in INTENT_ORDER;
each names the ResponseTemplate kind that answers it.
"""

import re

PRICE, YES, NO, MORE, ABOUT_ME, COMPLIMENT, HELLO = (
    "price",
    "offer_yes",
    "offer_no",
    "more",
    "about_me",
    "compliment",
    "hello",
)

# Yes/no only mean something while an offer is waiting; the rest stand alone.
OFFER_ONLY = {YES, NO}
PHRASES: dict[str, list[str]] = {
    PRICE: ["how much", "price", "cost", "costs", "how many dollars", "what do i pay", "how expensive"],
    NO: [
        "no",
        "nope",
        "nah",
        "maybe later",
        "later",
        "not today",
        "not now",
        "too expensive",
        "too much",
        "i'm broke",
        "im broke",
        "broke",
        "can't afford",
        "cant afford",
        "pass",
        "no thanks",
    ],
    YES: [
        "yes",
        "yeah",
        "yep",
        "yess",
        "ok",
        "okay",
        "sure",
        "send it",
        "i want it",
        "i'll buy",
        "ill buy",
        "i'll take it",
        "deal",
        "unlock",
        "i'll pay",
        "take my money",
        "do it",
    ],
    MORE: [
        "more",
        "show me",
        "see more",
        "what else",
        "what do you have",
        "send me something",
        "another one",
        "anything else",
    ],
    ABOUT_ME: [
        "tell me about you",
        "where are you from",
        "what are you up to",
        "what you doing",
        "what are you doing",
        "how are you",
        "how's your day",
        "hows your day",
        "what do you do",
        "your favourite",
        "your favorite",
        "how old are you",
        "do you like",
        "are you",
    ],
    COMPLIMENT: [
        "cute",
        "gorgeous",
        "beautiful",
        "pretty",
        "sexy",
        "hot",
        "stunning",
        "amazing",
        "incredible",
        "lovely",
        "you look",
        "love your",
        "like your",
        "so good",
        "perfect",
        "😍",
        "🔥",
        "❤️",
        "🥰",
    ],
    HELLO: [
        "hey",
        "hi",
        "hii",
        "hiii",
        "hello",
        "heya",
        "yo",
        "sup",
        "good morning",
        "good evening",
        "gm",
        "just subscribed",
        "👋",
    ],
}
INTENT_ORDER = [PRICE, NO, YES, MORE, ABOUT_ME, COMPLIMENT, HELLO]
# Neither yes nor no yet ("not sure" is no "sure"): the ladder's line answers a hesitation.
HESITANT = ["not sure", "don't know", "dont know", "dunno", "idk", "not certain", "thinking about it"]


def _has(text: str, phrase: str) -> bool:
    if not phrase[0].isalnum():  # an emoji: anywhere
        return phrase in text
    return re.search(r"(?<![\w'])" + re.escape(phrase) + r"(?![\w'])", text) is not None


def detect(text: str, offer_waiting: bool = False) -> str:
    """The message's intent ("" for none). Yes/no count only while an offer waits for an answer, and not
    in a hesitation; a question to the creator ("…you?") is about_me even without a listed phrase."""
    low = (text or "").lower().replace("’", "'")
    if not low.strip():
        return ""
    hesitant = any(_has(low, p) for p in HESITANT)
    for intent in INTENT_ORDER:
        if intent in OFFER_ONLY and (hesitant or not offer_waiting):
            continue
        if any(_has(low, p) for p in PHRASES[intent]):
            return intent
        if intent == ABOUT_ME and low.rstrip().endswith("?") and _has(low, "you"):
            return intent
    return ""
