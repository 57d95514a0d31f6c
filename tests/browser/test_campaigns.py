"""A manager's campaign in real headless Chromium: builds a segment and sees its live count and who the contact
rule leaves out; creates a campaign, reads who it reaches, approves and schedules it; after the scheduler sent
it and fans bought, reads its results (revenue, lift over the holdout with its interval).
Screenshots 27–30 in docs/screenshots/."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fans.models import Message
from learning.models import Action
from learning.services import record_outcome
from models_registry.services import onboard_from_files
from salesbot.campaigns import sending
from salesbot.campaigns.models import Campaign
from tests.browser.test_inbox_shift import shot, size
from tests.browser.test_manager_day import PASSWORD, log_in
from tests.browser.test_staff_journey import DEMO, by_css, submit, type_into
from tests.factories import FanFactory
from tests.team_helpers import fake_platform_client, manager

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agency(monkeypatch):
    platform = fake_platform_client(monkeypatch)
    luna = onboard_from_files(DEMO / "content-map.json", DEMO / "playbook.md", slug="luna", account_id="acct_luna")
    luna.display_name = "Luna Rivers"
    luna.save()
    fans = [FanFactory(creator=luna, name=f"Fan {i}", fan_id=8000 + i, state="engaged") for i in range(60)]
    for f in fans[:3]:
        f.opted_out = True
        f.save()
    for f in fans[3:5]:
        f.safety_flag = True
        f.save()
    for f in fans[5:7]:
        Message.objects.create(fan=f, direction="out", text="hi again", ts=timezone.now() - timedelta(hours=2))
    FanFactory(creator=luna, name="Whale", fan_id=8999, state="whale_candidate")
    return {"luna": luna, "boss": manager("boss", password=PASSWORD), "platform": platform}


def select(browser, field_id, text):
    from selenium.webdriver.support.ui import Select

    Select(by_css(browser, f"#{field_id}")).select_by_visible_text(text)


def select_value(browser, selector, value):
    from selenium.webdriver.support.ui import Select

    Select(by_css(browser, selector)).select_by_value(value)


def test_a_manager_runs_a_campaign(browser, live_server, agency, screenshot):
    size(browser, 1440, 900)
    log_in(browser, live_server, "boss")

    # a segment: engaged fans; its live count and who is left out, and why
    browser.get(f"{live_server.url}/admin/campaigns/segment/add/")
    select(browser, "id_creator", "Luna Rivers")
    type_into(browser, "id_name", "Engaged fans")
    type_into(browser, "id_states", '["engaged"]')
    submit(browser, "input[name=_continue]")
    assert by_css(browser, "#segment-count").text == "60"
    assert by_css(browser, "#segment-eligible").text == "53"
    left = by_css(browser, "table.left-out").text
    assert "fan opted out 3" in left and "fan has a safety flag 2" in left and "written to in the last 24 h 2" in left
    shot(browser, screenshot, "27-segment-live-count-and-left-out")

    # a campaign to it, scheduled for tomorrow 20:00 in the agency's time zone
    when = timezone.localtime() + timedelta(days=1)
    browser.get(f"{live_server.url}/admin/campaigns/campaign/add/")
    select(browser, "id_creator", "Luna Rivers")
    type_into(browser, "id_name", "Friday set")
    select(browser, "id_segment", "Engaged fans")
    type_into(browser, "id_text", "just shot a new set, only for you tonight 💕")
    type_into(browser, "id_content_key", "combo3")
    type_into(browser, "id_price", "18")
    select(browser, "id_hook", "exclusivity")
    type_into(browser, "id_send_at_0", when.strftime("%Y-%m-%d"))
    type_into(browser, "id_send_at_1", "20:00:00")
    type_into(browser, "id_holdout_share", "0.2")
    submit(browser, "input[name=_continue]")
    assert "waiting for approval" in by_css(browser, "#content").text
    assert by_css(browser, "#segment-eligible").text == "53"
    shot(browser, screenshot, "28-campaign-created-who-it-reaches")

    # approved from the list
    browser.get(f"{live_server.url}/admin/campaigns/campaign/")
    by_css(browser, "input.action-select").click()
    select_value(browser, "select[name=action]", "approve")
    submit(browser, "button[name=index]")
    assert "1 campaign(s) approved." in by_css(browser, "ul.messagelist").text
    assert "approved, scheduled" in by_css(browser, "#result_list").text
    shot(browser, screenshot, "29-campaign-approved-and-scheduled")

    # the scheduler at its time; a dozen recipients buy
    campaign = Campaign.objects.get(name="Friday set")
    assert timezone.localtime(campaign.send_at).strftime("%H:%M") == "20:00"
    assert sending.send_due(now=campaign.send_at + timedelta(minutes=1)) == 1
    sent = Action.objects.filter(campaign_recipient__campaign=campaign, status="sent").select_related("fan")
    assert len(agency["platform"].sends) == sent.count() > 30
    for action in sent[:12]:
        record_outcome(action.fan, "purchased", amount=Decimal("18"), action=action, pinned=True)

    browser.get(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
    results = by_css(browser, "#campaign-results").text
    assert "revenue $216.00" in results and "bought 12" in results
    assert "lift per fan" in results and "90% interval" in results
    shot(browser, screenshot, "30-campaign-results-lift")
