import pytest

from tests.factories import CreatorFactory, FanFactory


@pytest.fixture
def creator(db):
    return CreatorFactory(slug="demo", account_id="acct_demo")


@pytest.fixture
def fan(creator):
    return FanFactory(creator=creator, fan_id=12345678, name="John")
