import pytest

from tests.factories import CreatorFactory, FanFactory
from tests.fake_processes import (  # noqa: F401  (fixtures)
    fake_llm, fake_llm_session, fake_platform, fake_platform_session, start_fake_platform, webhook_receiver,
)


@pytest.fixture
def creator(db):
    return CreatorFactory(slug="demo", account_id="acct_demo")


@pytest.fixture
def fan(creator):
    return FanFactory(creator=creator, fan_id=12345678, name="John")
