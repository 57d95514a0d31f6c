"""A real browser for the staff journey: Debian's Chromium, headless, driven by Selenium.

The tests skip, saying why, when Chromium, its driver or Selenium is missing (`.ci/run` installs the
Debian packages where it can). Outside hosts are made unresolvable so a page that needed a CDN would
visibly break here.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BINARY", "/usr/bin/chromedriver")
WINDOW = (1400, 1000)
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "docs" / "screenshots"))


def _missing() -> str | None:
    for what, path in (("Chromium", CHROMIUM), ("ChromeDriver", CHROMEDRIVER)):
        if not (Path(path).is_file() and os.access(path, os.X_OK)) and not shutil.which(path):
            return (
                f"{what} not found at {path}: install Debian's chromium and chromium-driver "
                f"(`apt-get install -y chromium chromium-driver`, as .ci/run does) to run the browser tests"
            )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--force-device-scale-factor=1",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--lang=en-US",
        # Only the live server resolves: anything fetched from elsewhere fails to load.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    # Headless Chromium still reserves room for its toolbar: size the window so the *page* is WINDOW.
    driver.chrome_offset = driver.execute_script("return window.outerHeight - window.innerHeight")
    driver.set_window_size(WINDOW[0], WINDOW[1] + driver.chrome_offset)
    yield driver
    driver.quit()


@pytest.fixture
def screenshot(browser):
    """shot(name): save the whole page as docs/screenshots/<name>.png, 1400 px wide, at most 3000 px tall."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str, full_page: bool = True) -> Path:
        path = SHOTS / f"{name}.png"
        browser.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
        if full_page:
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.set_window_size(WINDOW[0], max(WINDOW[1], min(int(height), 3000)) + browser.chrome_offset)
        browser.save_screenshot(str(path))
        browser.set_window_size(WINDOW[0], WINDOW[1] + browser.chrome_offset)
        return path

    return shot
