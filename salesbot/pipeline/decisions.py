"""The shape every decision takes, whoever made it (rules, LLM, staff)."""

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Decision:
    action: str  # ppv, text, free_media, bump, rekindle, skip
    text: str = ""
    content_key: str = ""
    price: Decimal | None = None
    hook: str = ""
    reason: str = ""
    route: str = ""  # which router row fired
    source: str = "rules"  # rules | llm | staff
    extra: dict = field(default_factory=dict)


@dataclass
class Context:
    """What the router and the engines know about the fan at decision time."""

    creator: object
    fan: object
    reason: str = "message"  # QueueItem.Reason
    last_text: str = ""
    signals: set = field(default_factory=set)
    sent_lines: set | None = None  # the fan's lines so far, normalised (salesbot.pipeline.repeats.had)
    templates: list | None = None  # the creator's response templates, read once per decision (rules._row)
