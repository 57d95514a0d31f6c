"""A chatter's shift in a real browser: log in, see only the creator assigned, approve one bot draft, edit
and send another, sell a PPV from the console on a fan's timeline, and find each credited on the team
performance page (and named on the audit page). Sends go to a recording stand-in for the platform.
Screenshots go to docs/screenshots/ (08–12)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from fans.models import Fan, Message
from learning.models import Action
from learning.services import record_outcome
from models_registry.services import onboard_from_files
from salesbot.models import Draft, QueueItem
from salesbot.pipeline import queue, worker
from tests.browser.test_staff_journey import DEMO, all_css, by_css, submit, type_into
from tests.factories import FanFactory
from tests.team_helpers import chatter, fake_platform_client

PASSWORD = "chatter shift 2026"

pytestmark = pytest.mark.django_db(transaction=True)


def fan_writes(fan, text):
    Message.objects.create(fan=fan, direction="in", text=text, ts=timezone.now())
    Fan.objects.filter(pk=fan.pk).update(messages_received=fan.messages_received + 1)
    queue.enqueue(fan, QueueItem.Reason.MESSAGE)
    item = worker.work_one()
    assert item.result.startswith("drafted"), item.result
    return Draft.objects.get(fan=fan, status="open")


@pytest.fixture
def shift(monkeypatch):
    platform = fake_platform_client(monkeypatch)
    luna = onboard_from_files(DEMO / "content-map.json", DEMO / "playbook.md", slug="luna", account_id="acct_luna")
    luna.display_name, luna.autonomy = "Luna Rivers", "approve"
    luna.save()
    nova = onboard_from_files(DEMO / "content-map.json", DEMO / "playbook.md", slug="nova", account_id="acct_nova")
    nova.display_name, nova.autonomy = "Nova Vale", "approve"
    nova.save()
    user = chatter("chris", luna, password=PASSWORD)
    fans = {
        name: FanFactory(creator=luna, name=name, fan_id=88000 + i) for i, name in enumerate(["Ana", "Ben", "Cleo"])
    }
    drafts = {"Ana": fan_writes(fans["Ana"], "hey gorgeous"), "Ben": fan_writes(fans["Ben"], "hi there :)")}
    fan_writes(FanFactory(creator=nova, name="Nadia", fan_id=99001), "hello?")  # not chris's creator
    assert platform.sends == []
    return {"luna": luna, "user": user, "fans": fans, "drafts": drafts, "platform": platform}


def log_in(browser, live_server):
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    by_css(browser, "#login-form")
    type_into(browser, "id_username", "chris")
    type_into(browser, "id_password", PASSWORD)
    submit(browser, "#login-form input[type=submit]")
    assert "Hello chris" in by_css(browser, "#content h1").text
    browser.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")


def success(browser) -> str:
    return by_css(browser, "ul.messagelist li.success").text


def test_chatter_journey(browser, live_server, shift, screenshot):
    fans, drafts = shift["fans"], shift["drafts"]
    log_in(browser, live_server)

    # Only the assigned creator, and only its drafts.
    browser.get(f"{live_server.url}/admin/models_registry/creator/")
    by_css(browser, "#result_list")
    creators = [r.text for r in all_css(browser, "#result_list tbody tr")]
    assert len(creators) == 1 and "luna" in creators[0], creators
    browser.get(f"{live_server.url}/admin/salesbot/draft/")
    by_css(browser, "#result_list")
    rows = [r.text for r in all_css(browser, "#result_list tbody tr")]
    assert len(rows) == 2 and not any("Nadia" in r or "nova" in r.lower() for r in rows), rows
    screenshot("08-chatter-drafts", full_page=False)

    # Approve Ana's draft as drafted.
    browser.get(f"{live_server.url}/admin/salesbot/draft/{drafts['Ana'].pk}/review/")
    assert by_css(browser, "#draft-text").text == drafts["Ana"].text
    submit(browser, "#approve-form input[type=submit]")
    assert "Approved" in success(browser) or "approved" in success(browser).lower()

    # Edit Ben's draft, then send it.
    browser.get(f"{live_server.url}/admin/salesbot/draft/{drafts['Ben'].pk}/review/")
    edited = "hey Ben 😊 so glad you wrote, what are you up to tonight?"
    box = by_css(browser, "#edit-form textarea[name=text]")
    box.clear()
    box.send_keys(edited)
    screenshot("09-draft-review")
    submit(browser, "#edit-form input[type=submit]")
    assert "edited" in success(browser).lower()

    # A PPV from the inbox's composer to Cleo.
    cleo = fans["Cleo"]
    browser.get(f"{live_server.url}/admin/inbox/{cleo.pk}/")
    type_into(browser, "id_text", "made something just for you, Cleo 🔥")
    by_css(browser, "#vault-picker summary").click()
    by_css(browser, "#vault-picker input[value=combo5]").click()
    assert by_css(browser, "#id_price").get_attribute("value") == "25.00"  # the listed price
    submit(browser, "#send-button")
    assert "Sent." in success(browser)
    assert "Held by you" in by_css(browser, ".who-holds").text
    screenshot("10-chat-console")

    sends = shift["platform"].sends
    assert [s["fan_id"] for s in sends] == [fans["Ana"].fan_id, fans["Ben"].fan_id, cleo.fan_id], sends
    assert sends[1]["text"] == edited and sends[2]["price"] == 25 and sends[2]["media"]

    # Cleo buys it: the credit is chris's.
    ppv = Action.objects.get(fan=cleo, action="ppv", status="sent")
    assert ppv.sent_by == shift["user"]
    record_outcome(Fan.objects.get(pk=cleo.pk), "purchased", amount=Decimal("25"), action=ppv)

    browser.get(f"{live_server.url}/admin/reports/performance/")
    table = by_css(browser, "#performance-table")
    rows = {r.get_attribute("data-sender"): r for r in table.find_elements("css selector", "tr.sender-row")}
    assert "chris" in rows, list(rows)
    mine = [c.text for c in rows["chris"].find_elements("css selector", "td")]
    assert mine[1] == "2" and mine[2] == "1" and mine[3] == "1", mine  # the edited draft and the PPV
    assert rows["chris"].find_element("css selector", ".revenue").text == "$25.00"
    assert mine[8].startswith("1 / 1 / 0"), mine  # drafts approved / edited / rejected: chris decided two
    bot = [s for s in rows if s.startswith("bot")]
    assert len(bot) == 1, list(rows)
    bot_cells = [c.text for c in rows[bot[0]].find_elements("css selector", "td")]
    assert bot_cells[1] == "1", bot_cells  # Ana's draft, approved as drafted, stays the bot's message
    assert by_css(browser, "#team-revenue").text == "$25.00"
    screenshot("11-team-performance", full_page=False)

    browser.get(f"{live_server.url}/admin/reports/audit/")
    by_css(browser, "#audit-table")
    audit = [r.text for r in all_css(browser, "#audit-table tbody tr")]
    assert any("chris" in r and "from the console" in r and "Cleo (88002)" in r for r in audit), audit
    assert sum("chris" in r and "draft for fan" in r for r in audit) == 2, audit
    assert not any("nova" in r for r in audit), audit
    screenshot("12-audit", full_page=False)
