"""The admin as staff get it from `make run`: a real `runserver --noreload` with DEBUG off (Django's test
live server serves static files by itself, so the staff journey cannot show this), styled by its stylesheet."""

import pytest

from tests.web_servers import WebServer

pytestmark = pytest.mark.integration


def test_admin_login_page_is_styled_by_the_real_server(browser, tmp_path):
    with WebServer("runserver", tmp_path) as web:
        browser.get(f"{web.url}/admin/login/")
        sheets = browser.execute_script(
            # A sheet that failed to load has no rules to read (reading them throws): -1.
            "return Array.from(document.styleSheets).map(s => { try { return [s.href, s.cssRules.length] }"
            " catch (e) { return [s.href, -1] } })"
        )
        loaded = dict(sheets)
        assert loaded.get(f"{web.url}/static/admin/css/base.css", 0) > 50, (sheets, web.output())
        # Applied, not only fetched: base.css defines admin's colours and puts the login box on a card.
        primary = browser.execute_script(
            "return getComputedStyle(document.documentElement).getPropertyValue('--primary').trim()"
        )
        assert primary == "#79aec8", primary
        assert browser.execute_script("return getComputedStyle(document.body).fontFamily") != "Times New Roman"
