"""The manager's day in a real browser (issue 23): onboard a creator on OnlyFansAPI.com (the fake platform
answers as the provider) — test the key, submit files with two faults in the map and see both with their
lines, fix only the map (the playbook is kept), land on the next steps in approve mode; then start a holdout
experiment from the creator's dashboard, read its results in the experiments list and stop it after the
confirmation. Screenshots go to docs/screenshots/ (22–26)."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from learning.models import Action
from learning.services import record_action, record_outcome
from models_registry.models import Creator, Experiment
from tests.browser.test_staff_journey import DEMO, PASSWORD, all_css, by_css, log_in, submit, type_into
from tests.factories import FanFactory
from tests.fake_processes import ACCOUNT, API_KEY, FakePlatformProcess

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def provider():
    server = FakePlatformProcess("--dialect", "onlyfansapi")
    yield server
    server.stop()


@pytest.fixture
def fake(provider, monkeypatch):
    provider.fake("POST", "reset")
    monkeypatch.setattr("salesbot.providers.onlyfansapi.client.DEFAULT_BASE_URL", f"{provider.url}/api")
    return provider


@pytest.fixture
def maria(db):
    return get_user_model().objects.create_superuser("maria", "maria@agency.test", PASSWORD)


def wait_for_text(browser, selector, text, timeout=15):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(lambda b: text in by_css(b, selector).text)
    return by_css(browser, selector).text


def files(tmp_path):
    data = json.loads((DEMO / "content-map.json").read_text())
    data["vault"][6]["price"] = 500
    data["templates"]["bump"]["content_key"] = "combo9"
    bad = tmp_path / "luna-map.json"
    bad.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    playbook = tmp_path / "luna-playbook.md"
    playbook.write_text((DEMO / "playbook.md").read_text())
    data["vault"][6]["price"], data["templates"]["bump"]["content_key"] = 35, "combo7"
    good = tmp_path / "fixed" / "luna-map.json"
    good.parent.mkdir()
    good.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    return bad, playbook, good


def onboard(browser, live_server, screenshot, tmp_path):
    bad, playbook, good = files(tmp_path)
    browser.get(f"{live_server.url}/admin/models_registry/creator/onboard/")
    for field, text in (
        ("id_slug", "luna"),
        ("id_display_name", "Luna Rivers"),
        ("id_account_id", ACCOUNT),
        ("id_api_key", "sk-typo"),
        ("id_ppv_min_price", "8"),
        ("id_ppv_max_price", "60"),
        ("id_entry_price", "18"),
    ):
        type_into(browser, field, text)
    by_css(browser, "#check-connection").click()
    answer = wait_for_text(browser, "#connection-answer", "refused")
    assert "OnlyFansAPI.com refused the API key (401): Unauthorized" in answer
    type_into(browser, "id_api_key", API_KEY)
    by_css(browser, "#check-connection").click()
    assert wait_for_text(browser, "#connection-answer", "OK:").startswith("OK: OnlyFansAPI.com accepted the key")
    assert by_css(browser, "#connection-answer").get_attribute("class") == "ok"
    screenshot("22-onboarding-test-connection")

    type_into(browser, "id_content_map", str(bad), clear=False)
    type_into(browser, "id_playbook", str(playbook), clear=False)
    submit(browser, "input[name=_onboard]")
    errors = [e.text for e in all_css(browser, ".field-content_map .errorlist li")]
    assert len(errors) == 2, errors
    assert "templates.bump: content_key 'combo9' is not in the vault." in errors[0] and errors[0].startswith("line ")
    assert "Vault item 7 'combo7': price 500 is outside the price bounds 8–60." in errors[1]
    assert "Using luna-playbook.md uploaded earlier" in by_css(browser, "#id_playbook_kept").text
    assert not Creator.objects.exists()
    screenshot("23-onboarding-two-faults")

    type_into(browser, "id_api_key", API_KEY)
    type_into(browser, "id_content_map", str(good), clear=False)
    submit(browser, "input[name=_onboard]")
    assert "Creator 'luna' onboarded" in by_css(browser, "ul.messagelist li.success").text
    assert "OK: OnlyFansAPI.com accepted the key" in by_css(browser, "ul.messagelist").text
    creator = Creator.objects.get(slug="luna")
    assert (creator.provider, creator.api_base_url, creator.autonomy) == (
        "onlyfansapi",
        "https://app.onlyfansapi.com/api",
        "approve",
    )
    assert by_css(browser, "#switch-to-autopilot")
    screenshot("24-onboarded-next-steps", full_page=False)
    return creator


def run_experiment(browser, live_server, screenshot, creator):
    browser.get(f"{live_server.url}/admin/models_registry/creator/{creator.pk}/dashboard/")
    type_into(browser, "id_control_percent", "50")
    submit(browser, "#experiment-start input[type=submit]")
    assert "Holdout experiment" in by_css(browser, "ul.messagelist li.success").text
    exp = Experiment.objects.get(creator=creator)
    assert exp.running and exp.control_share == 0.5 and exp.started_by_user.username == "maria"
    for i in range(12):  # fans who subscribe while it runs: a PPV each, every other one bought
        fan = FanFactory(creator=creator, fan_id=600 + i)
        action = record_action(fan, "ppv", price=Decimal("18"), hook="curiosity", status=Action.Status.SENT)
        if i % 2:
            record_outcome(fan, "purchased", amount=Decimal("18"), action=action, pinned=True)

    browser.get(f"{live_server.url}/admin/models_registry/experiment/")
    row = by_css(browser, "#result_list tbody tr").text
    assert "running" in row and "by maria" in row and "per fan" in row and "Not enough data yet" in row
    screenshot("25-experiments-list")
    browser.find_element("link text", "stop…").click()
    assert "Yes, stop experiment" in by_css(browser, "#experiment-stop input[type=submit]").get_attribute("value")
    screenshot("26-experiment-stop-confirmation", full_page=False)
    submit(browser, "#experiment-stop input[type=submit]")
    row = by_css(browser, "#result_list tbody tr").text
    assert "stopped" in row and row.count("by maria") == 2
    assert not Experiment.objects.get(pk=exp.pk).running


def test_manager_day(browser, live_server, maria, fake, screenshot, tmp_path):
    log_in(browser, live_server)
    creator = onboard(browser, live_server, screenshot, tmp_path)
    run_experiment(browser, live_server, screenshot, creator)
