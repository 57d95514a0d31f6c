"""What a creator's traffic costs, for the dashboard: the model's input tokens read from the prompt cache
against those billed in full, the cost per 1,000 model decisions at the configured model's current prices
(settings.LLM_PRICES, dated; the follow-ups sent through the Message Batches API at half price, shown apart),
whether the cached prompt part clears the model's floor, and the provider's credits per day beside the model's
dollars."""

from types import SimpleNamespace

from django.conf import settings

from salesbot.llm_tables import DEFAULT_PRICES, lookup
from salesbot.pipeline.llm.client import cost_usd
from salesbot.pipeline.llm.prompt import prefix_report
from salesbot.providers import credits


def _usage(tokens: dict, minus: dict | None = None) -> SimpleNamespace:
    minus = minus or {}
    left = {key: tokens.get(key, 0) - minus.get(key, 0) for key in ("input", "output", "cache_write", "cache_read")}
    return SimpleNamespace(
        input_tokens=left["input"],
        output_tokens=left["output"],
        cache_creation_input_tokens=left["cache_write"],
        cache_read_input_tokens=left["cache_read"],
    )


def model_cost(creator, tokens: dict, calls: int, batched: dict | None = None) -> dict:
    """`tokens`: the summed usage of the creator's calls, `batched` the Message Batches part of them
    (api.selectors.llm_usage): each priced at its own rate."""
    batched = batched or {"calls": 0, "cost_usd": 0.0, "tokens": {}}
    cached = tokens.get("cache_read", 0)
    uncached = tokens.get("input", 0) + tokens.get("cache_write", 0)
    live = cost_usd(creator.llm_model, _usage(tokens, minus=batched["tokens"]))
    at_batch = cost_usd(creator.llm_model, _usage(batched["tokens"]), batch=True)
    at_prices = float(live + at_batch)
    p_in, p_out, p_write, p_read = lookup(settings.LLM_PRICES, creator.llm_model, DEFAULT_PRICES)
    return {
        "model": creator.llm_model,
        "prices": {"input": p_in, "output": p_out, "cache_write": p_write, "cache_read": p_read},
        "prices_as_of": settings.LLM_PRICES_AS_OF,
        "cached": cached,
        "uncached": uncached,
        "cached_share": round(100 * cached / (cached + uncached), 1) if cached + uncached else None,
        "per_1000_decisions": 1000 * at_prices / calls if calls else None,
        "batched": {
            "calls": batched["calls"],
            "cost_usd": batched["cost_usd"],
            "saved_usd": float(cost_usd(creator.llm_model, _usage(batched["tokens"])) - at_batch),
        },
        "prefix": prefix_report(creator),
    }


def panel(creator, llm_usage: dict, days: int = 7) -> dict:
    return {
        **model_cost(creator, llm_usage["tokens"], llm_usage["calls"] or 0, llm_usage.get("batched")),
        "credits": credits.by_day(creator, days),
    }
