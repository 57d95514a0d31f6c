"""The staff door in real headless Chromium (issue 28): a manager logs in with a password and a TOTP code; ten wrong
passwords lock a chatter's account; the audit page shows the failures; the manager lifts the lockout and the
chatter logs in again. Every page is served with the admin's Content-Security-Policy. Screenshots 19–20."""

import re

import pytest
import requests
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from salesbot import two_factor
from tests.browser.test_staff_journey import by_css, submit, type_into
from tests.factories import CreatorFactory
from tests.team_helpers import chatter, manager

PASSWORD = "door that holds 2026"
pytestmark = pytest.mark.django_db(transaction=True)


def login_attempt(session: requests.Session, url: str, username: str, password: str) -> requests.Response:
    page = session.get(f"{url}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    return session.post(
        f"{url}/admin/login/?next=/admin/",
        timeout=10,
        allow_redirects=False,
        data={"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/admin/"},
        headers={"Referer": f"{url}/admin/login/"},
    )


def test_totp_login_lockout_audit_and_unlock(browser, live_server, screenshot, settings):
    settings.TWO_FACTOR_REQUIRED = "managers"
    creator = CreatorFactory(slug="luna", display_name="Luna Rivers", account_id="acct_luna")
    boss = manager("boss", password=PASSWORD)
    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=False)
    two_factor.enroll(boss, device)
    chatter("maria", creator, password=PASSWORD)

    # The manager: password, then without the code the page asks for it; with it, the home page.
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    type_into(browser, "id_username", "boss")
    type_into(browser, "id_password", PASSWORD)
    submit(browser, "#login-form input[type=submit]")
    assert "Enter the two-factor code" in by_css(browser, ".errornote").text
    type_into(browser, "id_password", PASSWORD)
    type_into(browser, "id_otp_token", f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}")
    screenshot("19-login-two-factor", full_page=False)
    submit(browser, "#login-form input[type=submit]")
    assert "Hello boss" in by_css(browser, "#content h1").text
    assert "account security" in by_css(browser, "#user-tools").text.lower()

    # Ten wrong passwords for maria (from another browser on the same network): locked, even with the right one.
    maria = requests.Session()
    codes = [login_attempt(maria, live_server.url, "maria", f"guess-{i}").status_code for i in range(10)]
    assert codes[:9] == [200] * 9 and codes[9] == 429, codes
    locked = login_attempt(maria, live_server.url, "maria", PASSWORD)
    assert locked.status_code == 429 and 'id="locked-out"' in locked.text
    assert "script-src 'self'" in locked.headers["Content-Security-Policy"]

    # The audit page shows the failures and the lockout; the manager lifts it.
    browser.get(f"{live_server.url}/admin/reports/audit/")
    rows = [r.text for r in browser.find_elements("css selector", "#audit-table .audit-account")]
    assert sum("failed login: maria" in r for r in rows) >= 10, rows[:3]
    assert any("locked out" in r for r in rows)
    assert any("boss" in r and "with two-factor" in r for r in rows)
    by_css(browser, "a[href='/admin/security/lockouts/']").click()
    assert "maria" in by_css(browser, "#lockouts").text
    screenshot("20-locked-logins", full_page=False)
    submit(browser, "#lockouts input.unlock")
    assert "Lifted the lockout of maria" in by_css(browser, ".messagelist").text
    assert "Nobody is locked out" in by_css(browser, "#no-lockouts").text

    # maria's password works again; the audit says who lifted the lockout.
    assert login_attempt(maria, live_server.url, "maria", PASSWORD).status_code == 302
    browser.get(f"{live_server.url}/admin/reports/audit/")
    assert "lockout lifted: maria" in by_css(browser, "#audit-table").text
    # The admin's own scripts still run under the CSP: the creator filter (data-autosubmit) submits on change.
    from selenium.webdriver.support.ui import Select

    page = by_css(browser, "html")
    Select(by_css(browser, "select[name=creator]")).select_by_visible_text("Luna Rivers")
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(EC.staleness_of(page))
    assert f"creator={creator.pk}" in browser.current_url
