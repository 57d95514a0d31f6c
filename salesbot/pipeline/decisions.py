"""The shape every decision takes, whoever made it (rules, LLM, staff)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: this module stays free of model imports
    from fans.models import Fan
    from models_registry.models import Creator, ResponseTemplate


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

    creator: Creator
    fan: Fan
    reason: str = "message"  # QueueItem.Reason
    last_text: str = ""
    signals: set[str] = field(default_factory=set)
    sent_lines: set[str] | None = None  # the fan's lines so far, normalised (salesbot.pipeline.repeats.had)
    # the creator's response templates, read once per decision (rules._row)
    templates: list[ResponseTemplate] | None = None
