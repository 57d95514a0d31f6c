"""A small simulated audience through the whole system: the decision layer's promises hold."""

import pytest

from sim.live import LiveSimulation

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_simulated_fans_get_no_invalid_llm_sends_and_nothing_after_stop(fake_platform, fake_llm, settings):
    settings.PLATFORM_BACKOFF_S = 0.05
    settings.LLM_MAX_RETRIES = 0
    sim = LiveSimulation(
        fake_platform.url, fake_llm.url, slug="demo", seed=3, bad_llm_every=3, stop_rate=0.15, safety_rate=0.15
    )
    sim.setup(api_key=fake_platform.api_key, secret=fake_platform.secret, account=fake_platform.account)
    report = sim.run(25)
    assert report.notes == []
    assert report.sends > 25  # every fan was at least welcomed
    assert report.llm_calls > 0 and report.llm_rejected_or_failed > 0  # the fake misbehaved and was caught
    assert report.invalid_llm_sends == 0
    assert report.stopped_or_handed_off_fans > 0
    assert report.sends_after_stop_or_handoff == 0
    assert report.max_prompt_tokens < settings.LLM_PROMPT_TOKEN_LIMIT


def test_live_run_with_one_variant_per_template_sends_no_fan_a_line_twice(fake_platform, fake_llm, settings):
    settings.PLATFORM_BACKOFF_S = 0.05
    settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL = "restored-after-the-test", None
    sim = LiveSimulation(fake_platform.url, fake_llm.url, slug="fresh", seed=5, bad_llm_every=0, variants=1, llm=False)
    sim.setup(api_key=fake_platform.api_key, secret=fake_platform.secret, account=fake_platform.account)
    report = sim.run(20)
    assert report.notes == []
    assert report.sends > 40 and report.ppvs_sent > 0  # the fans were talked to and sold to
    assert (report.fans_with_a_repeat, report.repeated_lines, report.most_times_one_line) == (0, 0, 1)
    assert "fans who got a line twice:       0 of 20" in report.lines()
