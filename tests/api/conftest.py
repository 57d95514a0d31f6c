import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.team_helpers import fake_platform_client, manager


@pytest.fixture(autouse=True)
def fresh_stats_cache():
    cache.clear()
    yield
    cache.clear()


def _client(user=None, key=None) -> APIClient:
    client = APIClient()
    if user is not None:
        key = Token.objects.create(user=user).key
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def staff_api(db):
    user = manager("ops")  # a manager: every creator, the role's permissions
    return _client(user)


@pytest.fixture
def user_api(db):
    user = get_user_model().objects.create_user("fanclub", password="x", is_staff=False)
    return _client(user)


@pytest.fixture
def anon_api():
    return _client()


@pytest.fixture
def bad_token_api():
    return _client(key="0" * 40)


@pytest.fixture(autouse=True)
def platform(monkeypatch):
    """No network: sends (an approved draft) go to a recording stand-in for the provider client."""
    return fake_platform_client(monkeypatch)
