"""Fan safety, before any selling: some messages hand the fan to a human at once, and
"stop" opts the fan out for good. On by default for every creator; there is no switch to turn it off.

Every check reads `normalise(text)` first: NFKC (full-width digits, ligatures), curly quotes and
apostrophes made straight, zero-width characters dropped, whitespace collapsed. A phone keyboard's
"i’m 16" must read exactly like "i'm 16"."""

import re
import unicodedata

from fans.models import Fan
from fans.selectors import SAFETY_PREFIX, SAFETY_REASONS, SALE_PREFIX
from fans.services import hand_off, opt_out
from salesbot.pipeline.contact import contact_block

_QUOTES = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201f": '"',
        "\u2033": '"',
    }
)
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")


def normalise(text: str | None) -> str:
    """One spelling for the patterns below: NFKC, straight quotes, no zero-width characters, single spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _INVISIBLE.sub("", text.translate(_QUOTES))
    return " ".join(text.split())


_NOT_AGE = (
    r"(?!\s*(?:inch|in\b|cm|ft\b|foot|feet|tall|\"|'|k\b|\$|dollars|min|mins|minutes|hours|hrs|times"
    r"|pics|photos|%|of\b|more|left|away|mins?\b|kms?\b|miles?\b|mi\b|blocks|hundred|thousand"
    r"|lbs?\b|pounds|kgs?\b|kilos))"
)
# Ages under 18 spelled out (the small ones read too often as counts: "i'm one of...").
_AGE_WORD = r"(?:twelve|thirteen|fourteen|fifteen|sixteen|seventeen)"
_AGE_NUM = rf"(?:1[0-7]|[1-9]|{_AGE_WORD})"
# A word or two may stand between "I'm" and the age: "im only 16", "i'm literally just 15".
_AGE_FILLER = r"(?:(?:only|just|literally|actually|really|still|barely|like|turning|about|almost|nearly)\s+){0,2}"
_AGE = rf"\b(?:i'?m|i am)\s+{_AGE_FILLER}{_AGE_NUM}\b" + _NOT_AGE
_YEARS_OLD = r"(?:yo\b|y/o\b|y\.\s?o\b\.?|yrs? old\b|years? old\b)"
TRIGGERS: list[tuple[str, re.Pattern]] = [
    (
        "possible minor",
        re.compile(
            _AGE + rf"|\b{_AGE_NUM}\s*{_YEARS_OLD}|\bunder\s*18\b|\bunderage\b|\bminor\b"
            r"|\b(?:high|middle) school\b|\b(?:9th|10th|11th) grade\b",
            re.I,
        ),
    ),
    (
        "mentions self-harm",
        re.compile(
            r"\bkill(?:ing)? my ?self\b|\bsuicid|\bself[- ]?harm|\bhurt(?:ing)? my ?self\b|\bwant to die\b"
            r"|\b(?:wanna|wants? to|wanted to) (?:just |really )?die\b"  # not "gonna die": "i'm gonna die lol 😍"
            r"|\b(?:wanna|wants? to|gonna|going to|about to) (?:just )?off my ?self\b|\bunalive my ?self\b"
            r"|\bend my life\b|\bbetter off dead\b|\bdon'?t (?:want to|wanna) (?:live|be alive) anymore\b"
            r"|(?<![\d.]\s)(?<![\d.])\bkms\b"
            r"|\bend it all\b|\bcut(?:ting)? my ?self\b|\bno reason to live\b",
            re.I,
        ),
    ),
    (
        "claims to know the creator's real identity",
        re.compile(
            r"\bi know who you (?:really )?are\b|\byour real name\b|\bi know where you live\b"
            r"|\bi found your (?:address|real|family|instagram|facebook)\b",
            re.I,
        ),
    ),
    ("video call request", re.compile(r"\bvideo ?(?:call|chat)\b|\bfacetime\b|\bskype\b|\bzoom call\b", re.I)),
    (
        "restricted content",
        re.compile(r"\b(?:incest|bestiality|rape|non[- ]?consensual|drugged|escort|meet (?:up|irl|in person))\b", re.I),
    ),
    # Legal concerns (docs/architecture.md#safety): a threat of lawyers, courts, police or a chargeback, not a
    # mention of them ("i'm a lawyer", "my dad is a cop", "someone call the police, you're too hot").
    (
        "legal threat",
        re.compile(
            r"\b(?:my|our) (?:lawyer|attorney|solicitor|legal team)s? ?(?:will|'ll|is going to|is gonna|are going to"
            r"|shall|is about to)\b"
            r"|\b(?:call|calling|contact|contacting|get|getting|hire|hiring|talk to|involve|involving) (?:my|a) "
            r"(?:lawyer|attorney|solicitor)\b"
            r"|\b(?:sue|suing|sued) (?:you|u|your|ur)\b|\bsee you in court\b|\b(?:take|taking) (?:you|u) to court\b"
            r"|\blegal action\b|\bpress(?:ing)? charges\b|\bcease and desist\b|\bcharge ?backs?\b"
            r"|\b(?:i'?ll|i will|i'?m|im|i am|gonna|going to|about to) (?:\w+ )?(?:call|calling|contact|contacting"
            r"|report|reporting|go to|going to) (?:you to )?the (?:police|cops|authorities|fbi|ftc)\b"
            r"(?! (?:academy|exam|force|show|series|officer|ball))"
            r"|\breport(?:ing)? (?:you|u|your account|ur account|this account|this page)\b",
            re.I,
        ),
    ),
]
_STOP_CONTACT = r"(?:message|messaging|msg|text|texting|dm|dming|contact|contacting|write|writing|send)"
OPT_OUT = re.compile(
    # the whole message is a stop: "stop", "stop it", "please stop now", "don't message me"
    r"^\W*(?:(?:please|pls|plz|just)\s+)?(?:stop|stop it|unsubscribe|leave me alone|no more messages"
    rf"|(?:don'?t|do not) {_STOP_CONTACT} me)(?:\s+(?:please|pls|plz|now|it now|anymore|again|ever again))?\W*$"
    # or a stop anywhere in it: "stop texting me", "dont text me anymore"
    rf"|\bunsubscribe\b|\bstop (?:messaging|texting|sending|contacting|dming|msging|writing) me\b"
    rf"|\b(?:don'?t|do not|never) {_STOP_CONTACT} me (?:anymore|again|ever again)\b",
    re.I,
)


def safety_reason(text: str) -> str | None:
    text = normalise(text)
    for reason, pattern in TRIGGERS:
        if pattern.search(text):
            return reason
    return None


def wants_out(text: str) -> bool:
    return bool(OPT_OUT.search(normalise(text)))


_NUMBER = r"(\d[\d,]*(?:\.\d+)?)(?![\d,.]?\d)\s?(k\b|grand\b)?"  # whole numbers only: no "200" of "2000"
AMOUNT = re.compile(
    # "$400", "$1k", "$ 1.5k"
    rf"\$\s?{_NUMBER}"
    # "300 dollars", "1k usd", "400$"
    rf"|(?<![\w.,]){_NUMBER}\s?(?:\$|dollars?\b|usd\b|bucks\b)"
    # a bare number after a paying word: "i will pay 2000", "custom for 1k", "offering 800"
    rf"|\b(?:pay|paying|paid|give|giving|offer|offering|for|budget|spend|spending|tip|tipping)"
    rf"\s+(?:you\s+)?(?:like\s+|up to\s+|about\s+|around\s+|over\s+)?{_NUMBER}"
    r"(?!\s*(?:min|sec|hour|hr|day|week|month|pic|photo|vid|video|clip|time|inch|in\b|cm|ft\b|foot|feet|%|x\b|/))",
    re.I,
)


def amounts(text: str) -> list[float]:
    """Every money amount a message names, "1k" and "2 grand" read as thousands."""
    found = []
    for m in AMOUNT.finditer(normalise(text)):
        groups = m.groups()
        for number, suffix in zip(groups[::2], groups[1::2], strict=False):
            if number is not None:
                found.append(float(number.replace(",", "")) * (1000 if suffix else 1))
    return found


_MEDIA = (
    r"(?:video|vid|clip|pic|picture|photo|selfie|voice ?note|voice message|audio|recording|content|dance"
    r"|song)s?"
)
# Words that are not a custom request: border customs, "no custom, just the bundle".
_NOT_CUSTOM = re.compile(
    r"\b(?:at|through|thru|past|in|clear|cleared|clearing|from|by) customs\b"
    r"|\bcustoms (?:office|officer|line|check|border|agent|fee|fees|duty|duties|form|declaration)\b"
    r"|\b(?:no|not a|not any|don'?t want a|don'?t need a|without a|instead of a) customs?\b",
    re.I,
)
_CUSTOM = re.compile(
    # "i'd love a custom", "do you do customs?", "$300 for a custom", "a customized clip"
    r"\bcustom(?:s|ised|ized)?\b|\bspecial request\b|\bpersonali[sz]ed\b"
    r"|\bpersonal (?:video|vid|clip|message|shout ?out)\b|\b(?:me a|a|my) shout ?out\b"
    # content made for this fan: "make me a short clip", "record a video just for me", "make one for me"
    rf"|\b(?:make|film|record|shoot|create) (?:me|us) (?:a|an|one|some|my own) (?:[\w'-]+ ){{0,2}}?{_MEDIA}\b"
    rf"|\b(?:make|film|record|shoot|create) (?:a|an|one|some) (?:[\w'-]+ ){{0,2}}?{_MEDIA} "
    r"(?:just |only |especially |specially )?for me\b"
    r"|\b(?:make|film|record|shoot|create) (?:one|something) (?:just |only |especially |specially )?for me\b"
    # the fan's name written on her body
    r"|\bmy name (?:on|written on|across) (?:your|ur)\b",
    re.I,
)
# The fan's name said in a recording: "say my name in a video" (never "say my name again" in chat).
_NAME_SAID = re.compile(
    r"\b(?:say|says|saying|said|moan|moans|moaning|whisper|whispering|scream|screaming"
    r"|with|holding|write|writing|written) my name\b",
    re.I,
)
_MEDIA_WORD = re.compile(rf"\b{_MEDIA}\b|\bon (?:camera|cam|video)\b", re.I)


def custom_request(text: str) -> bool:
    """A request for content made for this fan (new content the model would have to create, which only a
    human may promise: docs/architecture.md#safety). Buying what is already in the vault ("i'd love the
    bundle", "send me a video") is not one."""
    text = _NOT_CUSTOM.sub(" ", normalise(text))
    return bool(_CUSTOM.search(text) or (_NAME_SAID.search(text) and _MEDIA_WORD.search(text)))


def custom_over_limit(creator, text: str) -> bool:
    """A custom request naming an amount at or above the creator's approval limit needs approval."""
    if not custom_request(text):
        return False
    named = amounts(text)
    return bool(named) and max(named) >= float(creator.custom_approval_limit)


def handoff_reason(creator, text: str) -> str | None:
    """Why this message must go to a human at once (docs/architecture.md#safety), or None: the one place that decides it
    for the intake and the simulator alike."""
    reason = safety_reason(text)
    if reason is None and custom_request(text):
        reason = (
            "custom request over the approval limit"
            if custom_over_limit(creator, text)
            else "custom request needs new content"
        )
    return reason


def screen_message(creator, fan: Fan, text: str) -> bool:
    """Act on a safety trigger or opt-out; True when the bot must not answer this fan."""
    reason = handoff_reason(creator, text)
    if reason:
        # A safety reason flags the fan (nobody sells to them); the others ask a person to take the sale over.
        if reason in SAFETY_REASONS:
            hand_off(fan, f"{SAFETY_PREFIX}{reason}", safety=True)
        elif fan.safety_flag:  # a flagged fan keeps the reason that flagged them
            hand_off(fan, fan.handoff_reason or f"{SAFETY_PREFIX}flagged fan wrote again", safety=True)
        else:
            hand_off(fan, f"{SALE_PREFIX}{reason}")
        return True
    if wants_out(text):
        opt_out(fan)  # nobody may write to them now (fans.signals.left_the_bot closes their drafts)
        return True
    if fan.safety_flag:
        # Flagged earlier and parked by staff (dormant) without a resume: back to the staff queue, never to selling.
        if fan.state != "handed_off":
            flagged = fan.handoff_reason.startswith(SAFETY_PREFIX)
            again = fan.handoff_reason if flagged else f"{SAFETY_PREFIX}flagged fan wrote again"
            hand_off(fan, again, safety=True)
        return True
    return contact_block(creator, fan) is not None
