"""Fan safety, before any selling: some messages hand the fan to a human at once, and
"stop" opts the fan out for good. On by default for every creator; there is no switch to turn it off."""
import re

from fans.services import hand_off
from fans.models import Fan

_NOT_AGE = (r"(?!\s*(?:inch|in\b|cm|ft\b|foot|feet|tall|\"|'|k\b|\$|dollars|min|mins|minutes|hours|hrs|times"
            r"|pics|photos|%|of\b|more|left|away|mins?\b))")
_AGE = r"\b(?:i'?m|i am|im)\s+(1[0-7]|[1-9])\b" + _NOT_AGE
TRIGGERS: list[tuple[str, re.Pattern]] = [
    ("possible minor", re.compile(
        _AGE + r"|\b(1[0-7]|[1-9])\s*(?:yo|y/o|years? old)\b|\bunder\s*18\b|\bunderage\b|\bminor\b"
        r"|\b(?:high|middle) school\b|\b(?:9th|10th|11th) grade\b", re.I)),
    ("mentions self-harm", re.compile(
        r"\bkill(?:ing)? my ?self\b|\bsuicid|\bself[- ]?harm|\bhurt(?:ing)? my ?self\b|\bwant to die\b"
        r"|\bend it all\b|\bcut(?:ting)? my ?self\b|\bno reason to live\b", re.I)),
    ("claims to know the creator's real identity", re.compile(
        r"\bi know who you (?:really )?are\b|\byour real name\b|\bi know where you live\b"
        r"|\bi found your (?:address|real|family|instagram|facebook)\b", re.I)),
    ("video call request", re.compile(r"\bvideo ?(?:call|chat)\b|\bfacetime\b|\bskype\b|\bzoom call\b", re.I)),
    ("restricted content", re.compile(
        r"\b(?:incest|bestiality|rape|non[- ]?consensual|drugged|escort|meet (?:up|irl|in person))\b", re.I)),
]
OPT_OUT = re.compile(
    r"^\W*(?:(?:please|pls|plz)\s+)?(?:stop|unsubscribe|leave me alone|don'?t message me|do not message me"
    r"|no more messages)(?:\s+(?:please|pls|plz|now|it now))?\W*$"
    r"|\bunsubscribe\b|\bstop (?:messaging|texting|sending|contacting) me\b", re.I)


def safety_reason(text: str) -> str | None:
    for reason, pattern in TRIGGERS:
        if pattern.search(text or ""):
            return reason
    return None


def wants_out(text: str) -> bool:
    return bool(OPT_OUT.search(text or ""))


AMOUNT = re.compile(r"\$\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?(?:\$|dollars|usd|bucks)\b", re.I)


def custom_over_limit(creator, text: str) -> bool:
    """A custom request naming an amount at or above the creator's approval limit needs a human."""
    from salesbot.fan_signals import detect

    if "custom_request" not in detect(creator, text):
        return False
    amounts = [float((a or b).replace(",", "")) for a, b in AMOUNT.findall(text or "")]
    return bool(amounts) and max(amounts) >= float(creator.custom_approval_limit)


def screen_message(creator, fan: Fan, text: str) -> bool:
    """Act on a safety trigger or opt-out; True when the bot must not answer this fan."""
    reason = safety_reason(text)
    if reason is None and custom_over_limit(creator, text):
        reason = "custom request over the approval limit"
    if reason:
        hand_off(fan, f"safety: {reason}", safety=True)
        return True
    if wants_out(text):
        fan.opted_out = True
        fan.save(update_fields=["opted_out"])
        return True
    return fan.state == "handed_off" or fan.opted_out
