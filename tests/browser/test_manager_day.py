"""A manager's day in real headless Chromium: a chatter clocks in and is routed two waiting fans, answers one
inside the response target and one after it breached; the manager reads today's revenue per creator and per
sender with imported history apart, and the shift report with the chatter's commission; its CSV says the same.
Screenshots 19–21 in docs/screenshots/."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from learning.models import Action, Outcome
from learning.services import record_outcome
from models_registry.services import onboard_from_files
from team.models import TeamMember
from tests.browser.test_inbox_shift import shot, size
from tests.browser.test_staff_journey import DEMO, by_css, submit, type_into
from tests.factories import FanFactory
from tests.team_helpers import chatter, fake_platform_client, manager

PASSWORD = "manager day 2026"
pytestmark = pytest.mark.django_db(transaction=True)


def waiting_fan(creator, name, fan_id, minutes):
    from fans.models import Message

    fan = FanFactory(
        creator=creator,
        name=name,
        fan_id=fan_id,
        state="handed_off",
        handoff_reason="needs a human: custom request needs new content",
        needs_human_since=timezone.now() - timedelta(minutes=minutes),
    )
    Message.objects.create(
        fan=fan,
        direction="in",
        text=f"hi it's {name}, can you make me a custom?",
        ts=timezone.now() - timedelta(minutes=minutes),
    )
    return fan


@pytest.fixture
def day(monkeypatch):
    platform = fake_platform_client(monkeypatch)
    luna = onboard_from_files(DEMO / "content-map.json", DEMO / "playbook.md", slug="luna", account_id="acct_luna")
    luna.display_name, luna.first_response_minutes = "Luna Rivers", 5
    luna.save()
    chris = chatter("chris", luna, password=PASSWORD)
    TeamMember.objects.filter(user=chris).update(commission_rate=Decimal("12.5"))
    boss = manager("boss", password=PASSWORD)
    fresh, late = waiting_fan(luna, "Fresh", 7001, 1), waiting_fan(luna, "Late", 7002, 20)
    # money today: the bot's PPV bought ($18), and last year's imported history ($100) that stays apart
    buyer = FanFactory(creator=luna, name="Buyer", fan_id=7003)
    bot_ppv = Action.objects.create(
        creator=luna, fan=buyer, action="ppv", price=Decimal("18"), status="sent", content_key="combo3", source="rules"
    )
    record_outcome(buyer, "purchased", amount=Decimal("18"), action=bot_ppv)
    Outcome.objects.create(
        creator=luna,
        fan=buyer,
        event="purchased",
        amount=Decimal("100"),
        import_key="hist-1",
        # an hour ago, or since midnight if that is sooner: "today" on the page, whenever the test runs
        ts=max(
            timezone.now() - timedelta(hours=1),
            timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0),
        ),
    )
    return {"luna": luna, "chris": chris, "boss": boss, "fresh": fresh, "late": late, "platform": platform}


def log_in(browser, live_server, username):
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    type_into(browser, "id_username", username)
    type_into(browser, "id_password", PASSWORD)
    submit(browser, "#login-form input[type=submit]")
    assert f"Hello {username}" in by_css(browser, "#content h1").text
    browser.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")


def cells(row) -> list[str]:
    return [td.text for td in row.find_elements("css selector", "td")]


def test_a_managers_day(browser, live_server, day, screenshot):
    size(browser, 1440, 900)
    log_in(browser, live_server, "chris")
    browser.get(f"{live_server.url}/admin/inbox/")
    submit(browser, "#duty-form button[value=in]")
    assert "on duty since" in by_css(browser, ".on-duty").text
    browser.get(f"{live_server.url}/admin/inbox/?show=mine")
    rows = browser.find_elements("css selector", "#conversation-list li.conv")
    assert sorted(r.find_element("css selector", ".conv-name").text for r in rows) == ["Fresh", "Late"]
    assert all("yours" in r.text for r in rows)
    late_row = next(r for r in rows if "Late" in r.text)
    assert "breached" in late_row.find_element("css selector", ".target-breached").text
    shot(browser, screenshot, "19-inbox-assigned")

    # Fresh inside the target, with a PPV; Late after its target breached.
    browser.get(f"{live_server.url}/admin/inbox/{day['fresh'].pk}/")
    type_into(browser, "id_text", "made you something special 💕")
    by_css(browser, "#vault-picker summary").click()
    by_css(browser, "#vault-picker input[value=combo5]").click()
    type_into(browser, "id_price", "30")
    submit(browser, "#send-button")
    browser.get(f"{live_server.url}/admin/inbox/{day['late'].pk}/")
    type_into(browser, "id_text", "so sorry for the wait, I'm here now")
    submit(browser, "#send-button")
    ppv = Action.objects.get(fan=day["fresh"], action="ppv")
    record_outcome(day["fresh"], "purchased", amount=Decimal("30"), action=ppv)

    log_in(browser, live_server, "boss")
    team = by_css(browser, "#card-team").text
    assert "$48.00" in team and "$100.00 imported history" in team, team
    shot(browser, screenshot, "20-manager-home")
    browser.get(f"{live_server.url}/admin/models_registry/creator/")
    luna_row = by_css(browser, "#result_list tbody tr").text
    assert "$48.00" in luna_row, luna_row
    browser.get(f"{live_server.url}/admin/reports/performance/?period=today")
    assert by_css(browser, "#team-revenue").text == "$48.00"
    assert by_css(browser, "#history-revenue").text == "$100.00"
    senders = {r.get_attribute("data-sender"): r for r in browser.find_elements("css selector", "tr.sender-row")}
    assert senders["chris"].find_element("css selector", ".revenue").text == "$30.00"
    assert senders["bot (rules)"].find_element("css selector", ".revenue").text == "$18.00"

    browser.get(f"{live_server.url}/admin/reports/shifts/?period=today")
    row = by_css(browser, "tr.person-row[data-person='chris']")
    page = cells(row)
    assert page[2] == "2" and page[5] == "50%" and page[10] == "$30.00" and page[12] == "$3.75", page
    shot(browser, screenshot, "21-shift-report")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    text = requests.get(
        f"{live_server.url}/admin/reports/shifts/?period=today&format=csv", cookies=cookies, timeout=10
    ).text
    lines = {line[0]: line for line in csv.reader(io.StringIO(text))}
    chris = lines["chris"]
    assert chris[2] == page[2] and chris[6:9] == page[6:9] and f"${chris[10]}" == page[10]
    assert f"${chris[12]}" == page[12] and chris[5] == "0.5"
