"""Fixtures for tests against the fake platform speaking OnlyFansAPI.com: one process per module, reset per
test, and the demo creator onboarded on it. A module may define its own instead."""

import pytest

from models_registry.services import onboard_from_files
from tests.fake_processes import ACCOUNT, API_KEY, SECRET, FakePlatformProcess


@pytest.fixture(scope="module")
def platform_process():
    server = FakePlatformProcess("--dialect", "onlyfansapi")
    yield server
    server.stop()


@pytest.fixture
def fake(platform_process):
    platform_process.fake("POST", "reset")
    return platform_process


@pytest.fixture
def creator(db, fake):
    return onboard_from_files(
        "demo/content-map.json",
        "demo/playbook.md",
        slug="demo",
        account_id=ACCOUNT,
        provider="onlyfansapi",
        api_base_url=f"{fake.url}/api",
        api_key=API_KEY,
        webhook_secret=SECRET,
    )
