"""The model's price list and prompt-cache floors, as plain data (no Django): settings.py exposes them as
LLM_PRICES / LLM_CACHE_MIN_TOKENS and the fake Claude (sim/llm_server.py) applies the same floors, so the
fake caches exactly what the real API would. Both are looked up by the longest model-id prefix.

Update with the date when Anthropic changes them; a model missing here gets DEFAULT_* (said at start-up).
"""

PRICES_AS_OF = "2026-12-07"
PRICES_SOURCE = "https://platform.claude.com/docs/en/about-claude/pricing (each model's overview page)"
# USD per million tokens: (input, output, 5-minute cache write, cache read). Batches: half of each.
PRICES = {
    "claude-fable-5-1": (10.0, 50.0, 12.5, 1.0),
    "claude-opus-5-5": (4.0, 20.0, 5.0, 0.20),
    "claude-opus-5": (5.0, 25.0, 6.25, 0.50),
    "claude-sonnet-5-5": (2.0, 10.0, 2.5, 0.20),
    "claude-sonnet-5": (2.0, 10.0, 2.5, 0.20),
    "claude-haiku-5-5": (0.10, 0.50, 0.125, 0.01),  # prompts up to 100K tokens (ours are at most 15K)
    "claude-opus-4-6": (5.0, 25.0, 6.25, 0.50),
    "claude-opus-4-5": (5.0, 25.0, 6.25, 0.50),
    "claude-opus-4": (15.0, 75.0, 18.75, 1.50),
    "claude-sonnet-4": (3.0, 15.0, 3.75, 0.30),
    "claude-haiku-4-5": (1.0, 5.0, 1.25, 0.10),
}
DEFAULT_PRICES = PRICES["claude-opus-5-5"]
# The Message Batches API bills every token kind (input, output, cache writes and reads) at half the price above;
# the prompt cache's own discounts apply on top (salesbot.pipeline.batches sends non-urgent follow-ups that way).
BATCH_DISCOUNT = 0.5
BATCH_DISCOUNT_AS_OF = "2026-12-07"
BATCH_DISCOUNT_SOURCE = "https://platform.claude.com/docs/en/build-with-claude/batch-processing#pricing"

CACHE_FLOORS_AS_OF = "2026-12-07"
CACHE_FLOORS_SOURCE = (
    "https://platform.claude.com/docs/en/build-with-claude/prompt-caching#cache-limitations "
    "(minimum cacheable prompt length); Opus 5: docs.litellm.ai prompt caching, 2026-10-07"
)
# Tokens a cached prefix needs at least; under it the API caches nothing and says nothing (both cache counters 0).
CACHE_MIN_TOKENS = {
    "claude-opus-5": 512,
    # Not in the sources we could read: the common floor assumed (Opus 5 has 512), so a prefix passing
    # here passes there.
    "claude-opus-5-5": 1024,
    "claude-fable-5": 2048,  # sources disagree (512 / 2,048): the higher
    "claude-sonnet-5": 1024,
    "claude-haiku-5": 4096,  # not listed: Haiku 4.5's floor assumed
    "claude-opus-4-7": 4096,  # sources disagree (2,048 / 4,096): the higher
    "claude-opus-4-6": 4096,
    "claude-opus-4-5": 4096,
    "claude-haiku-4-5": 4096,
    "claude-haiku-3": 2048,
    "claude-3-haiku": 2048,
    "claude-3-5-haiku": 2048,
}
DEFAULT_CACHE_MIN_TOKENS = 1024


def lookup(table: dict, model: str, default):
    """The entry whose key is the longest prefix of `model` (a dated id like claude-opus-4-5-20251101 too)."""
    best = max((k for k in table if (model or "").startswith(k)), key=len, default=None)
    return table[best] if best is not None else default


def cache_floor(model: str, table: dict | None = None) -> int:
    return lookup(CACHE_MIN_TOKENS if table is None else table, model, DEFAULT_CACHE_MIN_TOKENS)


def estimate_tokens(text: str) -> int:
    """The fake's count (a character in four): deliberately low, so a prefix this calls too short really is."""
    return -(-len(text) // 4)
