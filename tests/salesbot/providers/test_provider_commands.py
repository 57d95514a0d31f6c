"""register_webhook and sync_vault against the fake platform speaking OnlyFansAPI.com's format."""

from io import StringIO

import pytest
from django.core.management import call_command

from models_registry.services import onboard_from_files
from tests.fake_processes import ACCOUNT, API_KEY, SECRET

pytestmark = [pytest.mark.integration]


@pytest.fixture
def setup(db, start_fake_platform):
    fake = start_fake_platform("--dialect", "onlyfansapi")
    creator = onboard_from_files(
        "demo/content-map.json",
        "demo/playbook.md",
        slug="demo",
        account_id=ACCOUNT,
        provider="onlyfansapi",
        api_base_url=f"{fake.url}/api",
        api_key=API_KEY,
        webhook_secret=SECRET,
    )
    return creator, fake


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_registering_twice_keeps_one_webhook_with_our_events(setup):
    creator, fake = setup
    assert run("register_webhook", "demo", "--url", "https://bot.example.com").startswith(
        "Registered https://bot.example.com/api/providers/onlyfansapi/webhook"
    )
    assert run("register_webhook", "demo", "--url", "https://bot.example.com/").startswith("Updated")
    import requests

    hooks = requests.get(f"{fake.url}/api/webhooks", headers=fake.auth, timeout=5).json()["data"]
    assert len(hooks) == 1 and "messages.sent" in hooks[0]["events"]


def test_vault_sync_lists_unmapped_media_and_maps_them(setup):
    creator, fake = setup
    item = creator.vault_items.exclude(media_ids=[]).first()
    media = item.media_ids.pop()  # a media the staff have not mapped yet
    item.save()
    out = run("sync_vault", "demo")
    assert out.startswith("13 vault media, 1 not mapped")
    assert [int(line.split()[0]) for line in out.splitlines()[1:]] == [media]
    key = item.content_key
    out = run("sync_vault", "demo", "--map", f"{key}={media}")
    assert "0 not mapped" in out
    assert str(media) not in [line.split()[0] for line in out.splitlines()[2:]]
    assert media in creator.vault_items.get(content_key=key).media_ids
