"""A chatter's shift in the inbox, in real headless Chromium: from login, the longest-waiting fan who needs a human
is answered in three clicks; a fan's message, posted by the fake platform process as a signed webhook, shows
without a reload within 2 s; a send
over an unseen message is held, then confirmed; a refused price keeps the text; a vault item sells at its listed
price; a possible minor is offered nothing to buy; alike drafts approved at once go out once each; back to
autopilot leaves no draft open; the inbox and a conversation fit a phone. Screenshots 13–18 in docs/screenshots/."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone
from django_q.conf import Conf
from selenium.webdriver.common.keys import Keys

from fans.models import Fan, Message
from models_registry.services import onboard_from_files
from salesbot.models import Draft
from salesbot.pipeline import autonomy
from team.models import Snippet
from tests.browser.test_staff_journey import DEMO, by_css, submit, type_into
from tests.factories import FanFactory
from tests.fake_processes import ACCOUNT, API_KEY, SECRET
from tests.team_helpers import chatter

PASSWORD = "inbox shift 2026"
pytestmark = pytest.mark.django_db(transaction=True)


def wrote(fan, text, minutes_ago=0):
    Message.objects.create(fan=fan, direction="in", text=text, ts=timezone.now() - timedelta(minutes=minutes_ago))


class Platform:
    """The fake platform process: what it received from us, and fan messages it posts to us as signed webhooks."""

    def __init__(self, fake):
        self.fake = fake

    @property
    def sends(self) -> list[dict]:
        return [
            {
                "fan_id": m["fan_id"],
                "text": m["text"],
                "price": Decimal(str(m.get("price") or 0)),
                "media": m.get("mediaFiles") or [],
            }
            for m in self.fake.fake("GET", "messages")["messages"]
        ]

    def fan_says(self, fan_id, text, msg_id, name):
        out = self.fake.fake(
            "POST",
            "webhook",
            json={
                "event": "messages.received",
                "payload": {"fan": {"id": fan_id, "name": name}, "message": {"id": msg_id, "text": text}},
            },
        )
        assert out["status"] == 200, out


@pytest.fixture
def shift(live_server, fake_platform, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)  # the webhook's processing runs inside its request
    luna = onboard_from_files(
        DEMO / "content-map.json",
        DEMO / "playbook.md",
        slug="luna",
        account_id=ACCOUNT,
        api_base_url=fake_platform.url,
        api_key=API_KEY,
        webhook_secret=SECRET,
    )
    luna.display_name = "Luna Rivers"
    luna.save()
    requests.post(
        f"{fake_platform.api}/webhooks",
        headers=fake_platform.auth,
        timeout=5,
        json={"url": f"{live_server.url}/api/{luna.slug}/webhook/of-event", "events": []},
    ).raise_for_status()
    platform = Platform(fake_platform)
    user = chatter("chris", luna, password=PASSWORD)
    rex = FanFactory(
        creator=luna,
        name="Rex",
        fan_id=5001,
        state="handed_off",
        total_spent=Decimal("80"),
        handoff_reason="needs a human: custom request needs new content",
    )
    wrote(rex, "can you make me a custom video? $100", minutes_ago=12)
    vic = FanFactory(
        creator=luna, name="Vic", fan_id=5002, state="handed_off", handoff_reason="needs a human: video call request"
    )
    wrote(vic, "facetime tonight?", minutes_ago=3)
    kid = FanFactory(
        creator=luna,
        name="Kid",
        fan_id=5003,
        state="handed_off",
        safety_flag=True,
        handoff_reason="safety: possible minor",
    )
    wrote(kid, "im 16 lol", minutes_ago=1)
    ann = FanFactory(creator=luna, name="Ann", fan_id=5004, state="engaged", total_spent=Decimal("40"))
    wrote(ann, "morning!", minutes_ago=40)
    Message.objects.create(fan=ann, direction="out", text="morning babe ☀️", ts=timezone.now() - timedelta(minutes=39))
    Snippet.objects.create(title="custom price", text="customs start at $100, {name} 💕 what would you love?")
    return {"luna": luna, "user": user, "platform": platform, "rex": rex, "kid": kid}


def log_in(browser, live_server):
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    type_into(browser, "id_username", "chris")
    type_into(browser, "id_password", PASSWORD)
    submit(browser, "#login-form input[type=submit]")
    assert "Hello chris" in by_css(browser, "#content h1").text
    browser.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")


def size(browser, width, height):
    """The page's viewport as a laptop's or (under 500 px) a phone's, whatever the window manager allows."""
    if width < 500:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
        )
    else:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.set_window_size(width, height + browser.chrome_offset)


def shot(browser, screenshot, name, width=1440, height=900):
    """A screenshot of what a person sees at this size (the fixture resets the window afterwards)."""
    size(browser, width, height)
    screenshot(name, full_page=False)
    size(browser, width, height)


def bubbles(browser):
    """The bubbles' texts, read in one script: the live feed swaps the bubbles in while a test waits, and an
    element read one by one can go stale between two reads."""
    script = "return Array.from(document.querySelectorAll('#bubbles li.bubble'), (b) => b.innerText)"
    return browser.execute_script(script)


def wait_for(predicate, timeout=5.0):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError("not within the time")


def test_a_chatters_shift_in_the_inbox(browser, live_server, shift, screenshot):
    platform, rex = shift["platform"], shift["rex"]
    size(browser, 1440, 900)
    log_in(browser, live_server)
    shot(browser, screenshot, "13-home")

    # 1 click: the inbox; 2: the first row, the longest-waiting fan who needs a human; 3: send.
    submit(browser, "a.button.default[href='/admin/inbox/']")
    first = by_css(browser, "#conversation-list li.conv")
    assert "Rex" in first.text and "custom request" in first.text, first.text
    kid_row = browser.find_element("css selector", f"li.conv[data-fan='{shift['kid'].pk}']")
    assert "⚠ safety: possible minor" in kid_row.text
    submit(browser, "#conversation-list li.conv a")
    assert "can you make me a custom video" in bubbles(browser)[-1]
    type_into(browser, "id_text", "hey Rex! tell me more about what you'd like 😘")
    submit(browser, "#send-button")
    assert platform.sends[-1]["text"].startswith("hey Rex!") and "Sent." in by_css(browser, ".messagelist").text

    # The fake platform posts a new message from Rex: it shows without a reload, within 2 s.
    time.sleep(0.3)
    platform.fan_says(rex.fan_id, "lol you're funny", 9101, "Rex")
    took = wait_for(lambda: any("lol you're funny" in b for b in bubbles(browser)), timeout=2.0)
    assert took <= 2.0
    shot(browser, screenshot, "14-inbox-conversation")

    # A send over a message the chatter has not seen is held; sending again confirms.
    type_into(browser, "id_text", "want to see something special?")
    browser.execute_script("window.salesbotInbox.pause()")
    platform.fan_says(rex.fan_id, "wait actually", 9102, "Rex")
    sent_before = len(platform.sends)
    submit(browser, "#send-button")
    assert "wrote since you last looked" in by_css(browser, ".composer-alert.unseen").text
    assert by_css(browser, "#id_text").get_attribute("value") == "want to see something special?"
    assert "wait actually" in bubbles(browser)[-1] and len(platform.sends) == sent_before
    submit(browser, "#send-button")
    assert len(platform.sends) == sent_before + 1

    # "/" finds the team's saved replies, {name} filled in.
    text = by_css(browser, "#id_text")
    text.clear()
    text.send_keys("/custom")
    assert "custom price" in by_css(browser, "#reply-picker").text
    text.send_keys(Keys.ENTER)
    assert text.get_attribute("value") == "customs start at $100, Rex 💕 what would you love?"

    # A refused price keeps the text and says why beside the composer.
    type_into(browser, "id_text", "this one is all yours")
    by_css(browser, "#vault-picker summary").click()
    by_css(browser, "#vault-picker input[value=combo5]").click()
    type_into(browser, "id_price", "500")
    submit(browser, "#send-button")
    assert "outside this creator's price range" in by_css(browser, "#composer-error").text
    assert by_css(browser, "#id_text").get_attribute("value") == "this one is all yours"
    shot(browser, screenshot, "15-composer-refusal")

    # A vault item at its listed price (the price field fills itself).
    by_css(browser, "#vault-picker input[value=combo7]").click()
    assert by_css(browser, "#id_price").get_attribute("value") == "35.00"
    submit(browser, "#send-button")
    assert platform.sends[-1]["price"] == Decimal("35.00") and platform.sends[-1]["media"]

    # A possible minor: nothing to buy is offered.
    browser.get(f"{live_server.url}/admin/inbox/{shift['kid'].pk}/")
    assert "Safety flag" in by_css(browser, ".composer-alert.safety").text
    assert not browser.find_elements("css selector", "#vault-picker")
    assert "Only a manager can clear a safety flag" in by_css(browser, "#side").text

    # Phone: the inbox and a conversation with no sideways scroll.
    size(browser, 390, 844)
    browser.get(f"{live_server.url}/admin/inbox/")
    by_css(browser, "#conversation-list")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    shot(browser, screenshot, "16-inbox-phone", 390, 844)
    browser.get(f"{live_server.url}/admin/inbox/{rex.pk}/")
    by_css(browser, "#composer")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    shot(browser, screenshot, "17-conversation-phone", 390, 844)
    size(browser, 1440, 900)


def test_alike_drafts_approved_at_once_and_back_to_autopilot(browser, live_server, shift, screenshot):
    luna, platform = shift["luna"], shift["platform"]
    autonomy.set_creator_mode(luna, "approve")
    fans = [FanFactory(creator=luna, name=n, fan_id=6000 + i) for i, n in enumerate(["Ava", "Bo", "Cy", "Di"])]
    drafts = [
        Draft.objects.create(creator=luna, fan=f, action="text", text=f"hiii {f.name}! welcome 💕") for f in fans[:3]
    ]
    Draft.objects.create(creator=luna, fan=fans[3], action="text", text="something else entirely")
    size(browser, 1440, 900)
    log_in(browser, live_server)
    browser.get(f"{live_server.url}/admin/salesbot/draft/{drafts[0].pk}/review/")
    submit(browser, "#approve-alike-form input[type=submit]")
    assert "3 draft(s) approved and sent" in by_css(browser, ".messagelist").text
    shot(browser, screenshot, "18-drafts-after-batch")
    assert sorted(s["fan_id"] for s in platform.sends) == [6000, 6001, 6002]
    assert autonomy.set_creator_mode(luna, "autopilot") == 1
    assert not Draft.objects.filter(status="open").exists()
    assert Fan.objects.get(fan_id=6003).queue_items.exists()  # the bot decides that fan afresh
