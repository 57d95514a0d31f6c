import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from models_registry.services import onboard_from_files
from tests.factories import CreatorFactory, FanFactory
from tests.fake_processes import (  # noqa: F401  (fixtures)
    fake_llm,
    fake_llm_session,
    fake_platform,
    fake_platform_session,
    llm_on,
    start_fake_platform,
    webhook_receiver,
)


@pytest.fixture
def creator(db):
    return CreatorFactory(slug="demo", account_id="acct_demo")


@pytest.fixture
def fan(creator):
    return FanFactory(creator=creator, fan_id=12345678, name="John")


ROOT = Path(__file__).resolve().parents[1]

# One fixed encryption key for the credentials at rest (models_registry.encryption), in this process and every
# process a test starts (manage.py, runserver, gunicorn, qcluster): tests never write a key file into var/.
TEST_FIELD_ENCRYPTION_KEY = "0UnRJw9qJk7i0aM5zyBSu8v3y4Ww2h1mVIbWH9eIUbA="
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", TEST_FIELD_ENCRYPTION_KEY)
if not django_settings.FIELD_ENCRYPTION_KEYS:  # settings were read before this file (pytest-django)
    django_settings.FIELD_ENCRYPTION_KEYS = os.environ["FIELD_ENCRYPTION_KEYS"].split(",")
# Two-factor is required for managers by default (salesbot.two_factor). Most tests log people in with
# force_login, which passes no second factor: the tests are about something else, so the requirement is off
# here, and in every process a test starts; the tests of the login itself turn it on (tests/salesbot/test_login.py).
os.environ.setdefault("TWO_FACTOR_REQUIRED", "off")
django_settings.TWO_FACTOR_REQUIRED = os.environ["TWO_FACTOR_REQUIRED"]


@pytest.fixture
def demo(db):
    """The demo creator as `make run` onboards it (vault ladder, templates; PPV bounds 8..60, entry price 18)."""
    return onboard_from_files(
        ROOT / "demo" / "content-map.json", ROOT / "demo" / "playbook.md", slug="demo", account_id="acct_demo"
    )


@pytest.fixture
def now():
    """An explicit clock for tests that place events in time."""
    return timezone.now().replace(microsecond=0)


@pytest.fixture(autouse=True, scope="session")
def _no_credit_counts_left_at_exit():
    """Provider credit counts are written in batches (salesbot.providers.credits) and once more at exit; the
    test database is gone by then, so what the last tests counted is dropped instead of failing to write."""
    yield
    from salesbot.providers import credits

    credits.reset()


@pytest.fixture(autouse=True)
def _fresh_inbox_rows():
    """The live inbox caches rendered rows by fan and version, and team.scope each person's scope; tests reuse
    primary keys, so what one test cached must not be served in the next."""
    from django.core.cache import caches

    caches["inbox"].clear()
    caches["default"].clear()
    yield
