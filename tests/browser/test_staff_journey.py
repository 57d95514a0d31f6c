"""A staff member's day in a real browser: log in, onboard a creator from the two files (after one
validation mistake), read a fan's timeline, add to what the bot remembers, leave a note and hand the fan
off, find them on the "needs a human" list, open the learning dashboard, then the API docs page with every
outside host unreachable. Screenshots go to docs/screenshots/."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from fans.models import Fan
from models_registry.models import Creator
from tests.browser import scenario

DEMO = Path(__file__).resolve().parents[2] / "demo"
PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def provider_unreachable(monkeypatch):
    """OnlyFansAPI.com's own base URL (the onboarding default) on a closed port: the key check before saving
    says it could not ask, and onboarding goes on (test_manager_day.py checks keys against the fake)."""
    monkeypatch.setattr("salesbot.providers.onlyfansapi.client.DEFAULT_BASE_URL", "http://127.0.0.1:9/api")


@pytest.fixture
def staff_user():
    return get_user_model().objects.create_superuser("maria", "maria@agency.test", PASSWORD)


def by_css(browser, selector, timeout=10):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, selector)))


def all_css(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, selector)


def submit(browser, selector, timeout=10):
    """Click a form's button and wait until the next page replaced this one (so what is read next, such as
    a success message, is the new page's and never the old one's)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    page = by_css(browser, "html")
    by_css(browser, selector).click()

    def replaced(_):
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as e:  # Chromium, asked in the very moment the old page goes, says it this way
            if "does not belong to the document" in str(e):
                return True
            raise
        return False

    WebDriverWait(browser, timeout).until(replaced)


def type_into(browser, field_id, text, clear=True):
    field = by_css(browser, f"#{field_id}")
    if clear:
        field.clear()
    field.send_keys(text)


def log_in(browser, live_server):
    browser.get(f"{live_server.url}/admin/")
    by_css(browser, "#login-form")
    type_into(browser, "id_username", "maria")
    type_into(browser, "id_password", PASSWORD)
    by_css(browser, "#login-form input[type=submit]").click()
    assert "Hello maria" in by_css(browser, "#content h1").text
    # Fold admin's navigation sidebar, as staff do on a laptop: the pages get the width.
    browser.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")


def fill_onboarding(browser, max_price):
    type_into(browser, "id_slug", "luna")
    type_into(browser, "id_display_name", "Luna Rivers")
    type_into(browser, "id_account_id", "acct_luna")
    type_into(browser, "id_api_key", "sk-luna-7f3a9c21d8e4")
    type_into(browser, "id_ppv_min_price", "8")
    type_into(browser, "id_ppv_max_price", max_price)
    type_into(browser, "id_entry_price", "18")
    type_into(browser, "id_content_map", str(DEMO / "content-map.json"), clear=False)
    type_into(browser, "id_playbook", str(DEMO / "playbook.md"), clear=False)


def open_onboarding_form(browser, live_server):
    browser.get(f"{live_server.url}/admin/models_registry/creator/")
    by_css(browser, "a.addlink[href$='/onboard/']").click()
    assert by_css(browser, "#content h1").text == "Onboard a creator"


def onboard(browser, live_server, screenshot):
    # First try: a price ceiling under two vault prices. Every problem is named; nothing is saved.
    open_onboarding_form(browser, live_server)
    fill_onboarding(browser, max_price="30")
    by_css(browser, "input[name=_onboard]").click()
    assert "nothing was saved" in by_css(browser, "p.errornote").text
    field_errors = " ".join(e.text for e in all_css(browser, ".errorlist"))
    assert "'combo7': price 35 is outside the price bounds 8–30" in field_errors
    assert "'video_long': price 50 is outside the price bounds 8–30" in field_errors
    assert by_css(browser, "#id_api_key").get_attribute("value") == ""  # the key is never sent back
    assert not Creator.objects.filter(slug="luna").exists()
    screenshot("05-onboarding-validation")

    # Second try, from a fresh form with the right ceiling.
    open_onboarding_form(browser, live_server)
    fill_onboarding(browser, max_price="60")
    screenshot("01-onboarding-form")
    by_css(browser, "input[name=_onboard]").click()
    message = by_css(browser, "ul.messagelist li.success").text
    assert "Creator 'luna' onboarded: 8 vault items, 9 playbook sections" in message
    assert "sk-luna" not in browser.page_source
    screenshot("02-creator-onboarded", full_page=False)
    return Creator.objects.get(slug="luna")


def read_timeline(browser, live_server, screenshot):
    browser.get(f"{live_server.url}/admin/fans/fan/?q=Maya")
    rows = all_css(browser, "#result_list tbody tr")
    assert len(rows) == 1 and "Maya" in rows[0].text
    rows[0].find_element("link text", "timeline").click()
    by_css(browser, "ol.timeline")
    titles = [e.text for e in all_css(browser, "ol.timeline li .title")]
    assert titles[:4] == ["action: welcome", "bot wrote", "state: new → greeted", "Maya wrote"], titles
    assert (
        titles.index("action: ppv") < titles.index("outcome: purchased $18.00") < titles.index("state: pitched → buyer")
    )
    type_into(browser, "id_facts-2-text", "calls his dog Biscuit 'the boss'")
    submit(browser, "#facts-form input[type=submit]")
    assert "Facts saved" in by_css(browser, "ul.messagelist li.success").text
    remembered = [e.get_attribute("value") for e in all_css(browser, "#facts-form input[type=text]")]
    assert remembered[0] == "calls his dog Biscuit 'the boss'" and "dog's name: Biscuit" in remembered  # staff's first
    browser.get(browser.current_url)  # the page again without the message, so the next one is the note's
    type_into(browser, "id_note", "Prefers evening chats; asked about a custom video. Check with Luna first.")
    submit(browser, "#note-form input[type=submit]")
    assert "Note added." in by_css(browser, "ul.messagelist li.success").text
    assert "maria: Prefers evening chats" in by_css(browser, "#fan-notes").text
    screenshot("03-fan-timeline")


def hand_off_and_find_in_needs_human(browser, live_server, screenshot):
    type_into(browser, "id_reason", "asks for a video call")
    submit(browser, ".fan-tools input[value='Hand off to a human']")
    assert "Handed off" in by_css(browser, "ul.messagelist li.success").text
    assert by_css(browser, ".fan-tools input[value='Resume (back to engaged)']")
    browser.get(f"{live_server.url}/admin/")
    browser.find_element("link text", "Fans who need a human").click()
    rows = [r.text for r in all_css(browser, "#result_list tbody tr")]
    assert len(rows) == 2 and "Kai" in rows[0] and "says they are 17" in rows[0], rows  # safety first
    assert "Maya" in rows[1] and "asks for a video call" in rows[1]
    screenshot("07-needs-a-human", full_page=False)


def open_dashboard(browser, live_server, creator, screenshot):
    browser.get(f"{live_server.url}/admin/models_registry/creator/{creator.pk}/change/")
    by_css(browser, ".object-tools a[href$='/dashboard/']").click()
    assert by_css(browser, "#content h1").text == "Learning dashboard: Luna Rivers"
    boxes = {b.find_element("css selector", "h3").text: b for b in all_css(browser, ".chart-box")}
    for title in [
        "Conversion by price",
        "Revenue per PPV sent by price",
        "Conversion by hook",
        "Conversion by hour (UTC)",
        "Ghost rate by fan stage",
        "Who decided the actions",
    ]:
        assert boxes[title].find_element("css selector", "svg").is_displayed(), title
    price_chart = boxes["Conversion by price"].find_element("css selector", "svg")
    labels = [t.text for t in price_chart.find_elements("css selector", "text.label")]
    assert labels == ["$12", "$18", "$25", "$35", "$50"]
    assert len(price_chart.find_elements("css selector", "line.whisker")) == 3 * 5  # an interval per bar
    bars = price_chart.find_elements("css selector", "g.bar")
    assert [b.get_attribute("class") for b in bars] == ["bar"] * 4 + ["bar thin"]  # 6 sends at $50: pale
    assert price_chart.size["width"] > 300
    screenshot("04-dashboard")


def read_api_docs(browser, live_server, screenshot):
    browser.get(f"{live_server.url}/api/docs/")
    by_css(browser, ".opblock-summary-path", timeout=15)  # Swagger UI drew the operations
    paths = {e.text.replace("\u200b", "") for e in all_css(browser, ".opblock-summary-path")}
    assert {"/api/{creator_slug}/stats", "/api/{creator_slug}/fan/{fan_id}/handoff", "/api/health"} <= paths
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(u.startswith(live_server.url) for u in loaded), loaded
    screenshot("06-api-docs", full_page=False)


def test_staff_journey(browser, live_server, staff_user, screenshot):
    log_in(browser, live_server)
    creator = onboard(browser, live_server, screenshot)
    fan = scenario.maya(creator)
    scenario.sales(creator)
    scenario.safety_case(creator)
    read_timeline(browser, live_server, screenshot)
    assert Fan.objects.get(pk=fan.pk).notes.endswith("Check with Luna first.")
    hand_off_and_find_in_needs_human(browser, live_server, screenshot)
    assert Fan.objects.get(pk=fan.pk).state == "handed_off"
    open_dashboard(browser, live_server, creator, screenshot)
    read_api_docs(browser, live_server, screenshot)
