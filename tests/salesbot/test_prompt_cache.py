"""Prompt caching that pays on the real API: the creator's part of the prompt is byte-identical for all its
fans, over the model's minimum cacheable prefix, and the fan's part comes after it; the fake Claude caches as
the API documents (nothing under the floor, exact bytes only) and the dashboard shows the cached share."""

import anthropic
from django.conf import settings
from django.urls import reverse

from fans.models import Message
from models_registry.models import Creator, PlaybookSection
from salesbot.llm_tables import cache_floor, estimate_tokens
from salesbot.models import LLMCall
from salesbot.pipeline import engine
from salesbot.pipeline.llm.prompt import build_prompt, prefix_report
from tests.factories import FanFactory

DEFAULT_MODEL = Creator._meta.get_field("llm_model").default


def two_fans(demo):
    buyer = FanFactory(
        creator=demo,
        fan_id=7001,
        name="Sam",
        state="buyer",
        total_spent=18,
        messages_received=6,
        content_sent=["combo1"],
    )
    whale = FanFactory(
        creator=demo,
        fan_id=7002,
        name="Alexandra",
        state="whale_candidate",
        total_spent=300,
        messages_received=30,
        content_sent=["combo1", "combo3", "combo5"],
    )
    Message.objects.create(fan=buyer, direction="in", text="that was amazing")
    Message.objects.create(fan=whale, direction="in", text="what else have you got for me?")
    return buyer, whale


def test_the_cached_prefix_is_the_same_bytes_for_two_fans_over_the_floor_with_the_fan_after_it(demo):
    buyer, whale = two_fans(demo)
    a, b = build_prompt(demo, buyer), build_prompt(demo, whale)
    assert a.sections != b.sections  # different states: different playbook pointers
    assert a.system.encode() == b.system.encode()  # the creator's part: byte-identical
    assert demo.llm_model == DEFAULT_MODEL
    floor = cache_floor(DEFAULT_MODEL, settings.LLM_CACHE_MIN_TOKENS)
    assert estimate_tokens(a.system) >= floor, f"{estimate_tokens(a.system)} tokens under the floor {floor}"
    for fan, p in ((buyer, a), (whale, b)):
        kwargs = p.as_api_kwargs()
        assert kwargs["system"] == [{"type": "text", "text": p.system, "cache_control": {"type": "ephemeral"}}]
        fan_part = kwargs["messages"][0]["content"]
        assert f'"fan_id": {fan.fan_id}' in fan_part and fan.name in fan_part
        assert str(fan.fan_id) not in p.system and fan.name not in p.system  # nothing of the fan before it
        assert "[STATS]" in p.system and "# PLAYBOOK" in p.system and "# VAULT" in p.system


def test_the_fake_reads_the_cache_for_the_second_fan_and_the_dashboard_shows_the_share(llm_on, demo, admin_client):
    buyer, whale = two_fans(demo)
    for fan in (buyer, whale, buyer):
        assert engine.decide(engine.build_context(demo, fan, last_text="that was amazing")).source == "llm"
    first, second, third = LLMCall.objects.order_by("pk")
    assert first.cache_creation_tokens > 0 and first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_creation_tokens and second.cache_creation_tokens == 0
    assert third.cache_read_tokens == first.cache_creation_tokens
    stats = llm_on.fake("GET", "stats")
    assert stats["cache_read_input_tokens"] == 2 * first.cache_creation_tokens and stats["under_floor"] == 0

    cached = 2 * first.cache_creation_tokens
    uncached = sum(c.input_tokens + c.cache_creation_tokens for c in (first, second, third))
    share = round(100 * cached / (cached + uncached), 1)
    page = admin_client.get(reverse("admin:models_registry_creator_dashboard", args=[demo.pk])).content.decode()
    assert f"{cached} / {uncached}" in page and f'<td class="cached-share">{share}%</td>' in page
    assert "per 1,000 model decisions" in page and settings.LLM_PRICES_AS_OF in page


def test_the_fake_caches_nothing_under_the_floor_and_only_exact_bytes(llm_on):
    client = anthropic.Anthropic(api_key="test-key", base_url=llm_on.url, max_retries=0)

    def ask(system: str, model: str = DEFAULT_MODEL):
        return client.messages.create(
            model=model,
            max_tokens=50,
            messages=[{"role": "user", "content": "hi"}],
            system=[{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
        )

    floor = cache_floor(DEFAULT_MODEL)
    short = "x" * (4 * floor - 8)  # a few tokens under the floor
    for _ in range(2):
        u = ask(short).usage
        assert (u.cache_creation_input_tokens, u.cache_read_input_tokens) == (0, 0)  # silently: billed in full
        assert u.input_tokens >= floor - 2
    assert llm_on.fake("GET", "stats")["under_floor"] == 2

    long = "y" * (4 * floor + 40)
    assert ask(long).usage.cache_creation_input_tokens == floor + 10
    assert ask(long).usage.cache_read_input_tokens == floor + 10
    assert ask(long + " ").usage.cache_read_input_tokens == 0  # one more byte: a new prefix
    assert ask(long, model="claude-haiku-4-5").usage.cache_creation_input_tokens == 0  # Haiku 4.5: 4,096 floor


def test_a_prefix_under_the_floor_is_reported_at_start_up_and_on_the_dashboard(db, settings, admin_client):
    from salesbot.checks import prompt_cache_floor

    thin = Creator.objects.create(slug="thin", display_name="Thin", account_id="acct_thin")
    PlaybookSection.objects.create(creator=thin, number=1, title="Voice", body="be nice", serves_states=["new"])
    report = prefix_report(thin)
    assert report["under_floor"] and report["floor"] == cache_floor(DEFAULT_MODEL)
    settings.ANTHROPIC_API_KEY = ""
    assert prompt_cache_floor() == []  # no model configured: nothing to warn about
    settings.ANTHROPIC_API_KEY = "key"
    warnings = prompt_cache_floor()
    assert [w.id for w in warnings] == ["salesbot.W003"] and "creator thin" in warnings[0].msg
    page = admin_client.get(reverse("admin:models_registry_creator_dashboard", args=[thin.pk])).content.decode()
    assert "under the floor, nothing is cached" in page
