"""The creator admin's provider buttons against the fake platform (OnlyFansAPI.com dialect, its own
process): register the webhook, sync the vault, map unmapped media to a content key."""

import pytest
import requests
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.factories import CreatorFactory

pytestmark = [pytest.mark.integration]

CHANGELIST = "admin:models_registry_creator_changelist"


def action(client, name, creators, **extra):
    return client.post(
        reverse(CHANGELIST), {"action": name, "_selected_action": [c.pk for c in creators], **extra}, follow=True
    )


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def hooks(fake) -> list[dict]:
    return requests.get(f"{fake.url}/api/webhooks", headers=fake.auth, timeout=5).json()["data"]


def test_register_webhook_asks_for_the_url_then_shows_the_providers_answer(admin_client, creator, fake):
    page = action(admin_client, "register_provider_webhook", [creator])
    assert page.status_code == 200 and b"public base URL" in page.content
    assert b'value="http://testserver"' in page.content  # this deployment's address, to confirm
    assert hooks(fake) == []  # nothing registered before staff confirm
    done = action(
        admin_client, "register_provider_webhook", [creator], apply="Register", url="https://bot.example.com/"
    )
    [message] = said(done)
    assert message.startswith(
        "demo: Registered https://bot.example.com/api/providers/onlyfansapi/webhook "
        "for acct_demo: accounts.authentication_failed"
    )
    [hook] = hooks(fake)
    assert f"The provider's answer: {{'id': '{hook['id']}', 'url': '{hook['url']}'" in message
    again = action(
        admin_client, "register_provider_webhook", [creator], apply="Register", url="https://bot.example.com"
    )
    assert said(again)[0].startswith("demo: Updated") and len(hooks(fake)) == 1


def test_register_webhook_refusals_are_messages(admin_client, creator, fake, db):
    simple = CreatorFactory(slug="plain", provider="simple")
    type(creator).objects.filter(pk=creator.pk).update(api_key="wrong-key")
    done = action(
        admin_client, "register_provider_webhook", [creator, simple], apply="Register", url="https://bot.example.com"
    )
    assert sorted(said(done)) == [
        "demo: The provider refused: GET /webhooks: 401 Unauthorized. missing or wrong Authorization bearer token",
        "plain: Creator 'plain' uses the simple provider, not onlyfansapi.",
    ]


def test_vault_sync_lists_unmapped_media_and_they_can_be_mapped_in_admin(admin_client, creator, fake):
    item = creator.vault_items.exclude(media_ids=[]).first()
    media = item.media_ids.pop()  # a media the staff have not mapped yet
    item.save()
    done = action(admin_client, "sync_provider_vault", [creator])
    [message] = said(done)
    assert message.startswith(f"demo: 13 vault media, 1 not mapped to a content key: {media} (")
    page_url = reverse("admin:models_registry_creator_vault_media", args=[creator.pk])
    assert f'href="{page_url}"' in message
    change = admin_client.get(reverse("admin:models_registry_creator_change", args=[creator.pk]))
    assert f'href="{page_url}">Vault media'.encode() in change.content  # also a button on the creator's page
    page = admin_client.get(page_url)
    assert page.status_code == 200 and f'value="{media}"'.encode() in page.content
    other = creator.vault_items.exclude(pk=item.pk).first()
    mapped = admin_client.post(page_url, {"media": [media], "content_key": other.content_key}, follow=True)
    assert said(mapped) == [
        f"Mapped {media} to {other.content_key}: it now sends media {sorted(other.media_ids + [media])}."
    ]
    assert media in creator.vault_items.get(pk=other.pk).media_ids
    assert b"Every vault media is mapped to a content key." in mapped.content
    assert said(action(admin_client, "sync_provider_vault", [creator])) == [
        "demo: 13 vault media, 0 not mapped to a content key."
    ]


def test_only_media_the_provider_lists_can_be_mapped(admin_client, creator, fake):
    page_url = reverse("admin:models_registry_creator_vault_media", args=[creator.pk])
    key = creator.vault_items.first().content_key
    r = admin_client.post(page_url, {"media": [999999], "content_key": key})
    assert r.status_code == 200 and b"Select a valid choice" in r.content
    assert 999999 not in creator.vault_items.get(content_key=key).media_ids


def test_a_view_only_user_cannot_map(client, creator, fake, django_user_model):
    from django.contrib.auth.models import Permission

    from tests.team_helpers import chatter

    user = chatter("viewer", creator)  # the creator in scope ...
    user.groups.clear()  # ... but only the view permission
    user.user_permissions.add(Permission.objects.get(codename="view_creator"))
    client.force_login(user)
    page_url = reverse("admin:models_registry_creator_vault_media", args=[creator.pk])
    assert client.get(page_url).status_code == 200
    assert client.post(page_url, {"media": [1], "content_key": "x"}).status_code == 403


def test_mapping_media_reuses_the_synced_vault_listing_instead_of_paying_for_it_again(admin_client, creator, fake):
    from salesbot.providers import credits

    credits.reset()
    action(admin_client, "sync_provider_vault", [creator])  # an explicit sync reads the provider
    [after_sync] = credits.by_day(creator)
    page_url = reverse("admin:models_registry_creator_vault_media", args=[creator.pk])
    for _ in range(3):
        assert admin_client.get(page_url).status_code == 200
    assert credits.by_day(creator) == [after_sync]  # the map page: no credits spent
    assert after_sync["calls"] >= 1 and after_sync["credits"] >= 1
