"""Onboarding that works the first time, against the fake platform speaking OnlyFansAPI.com: the form's
"Test connection" answers from the provider (a good key: OK; a bad key: the provider's error in plain words),
the key is checked again before saving, every problem of the files comes at once with its line, the files
are kept across a failed submit, and the new creator is saved on OnlyFansAPI.com's own base URL in approve mode,
one click from autopilot."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from models_registry.models import Creator
from tests.fake_processes import ACCOUNT, API_KEY

DEMO = Path(__file__).resolve().parents[3] / "demo"
URL = "/admin/models_registry/creator/onboard/"
CHECK = URL + "check/"
REAL_BASE = "https://app.onlyfansapi.com/api"


@pytest.fixture(autouse=True)
def provider_is_the_fake(fake, monkeypatch):
    """OnlyFansAPI.com's own base URL (the default the creator is saved with) answers from the fake."""
    monkeypatch.setattr("salesbot.providers.onlyfansapi.client.DEFAULT_BASE_URL", f"{fake.url}/api")
    return fake


def faulty_map() -> str:
    """The demo map, pretty-printed as staff keep it, with two faults: a price beyond the bounds and a template
    sending a content key the vault does not have."""
    data = json.loads((DEMO / "content-map.json").read_text())
    data["vault"][6]["price"] = 500  # combo7
    data["templates"]["bump"]["content_key"] = "combo9"  # not in the vault
    return json.dumps(data, indent=2, ensure_ascii=False)


def fields(**more):
    return {
        "slug": "luna",
        "display_name": "Luna",
        "account_id": ACCOUNT,
        "api_key": API_KEY,
        "ppv_min_price": "8",
        "ppv_max_price": "60",
        "entry_price": "18",
        **more,
    }


def test_test_connection_answers_from_the_provider(admin_client):
    good = admin_client.post(CHECK, {"provider": "onlyfansapi", "account_id": ACCOUNT, "api_key": API_KEY}).json()
    assert good["ok"] and good["message"] == f"OK: OnlyFansAPI.com accepted the key for account {ACCOUNT}."
    bad = admin_client.post(CHECK, {"provider": "onlyfansapi", "account_id": ACCOUNT, "api_key": "sk-wrong"}).json()
    assert not bad["ok"] and bad["reached"]
    assert bad["message"].startswith(
        "OnlyFansAPI.com refused the API key (401): Unauthorized. missing or wrong Authorization bearer token"
    )
    other = admin_client.post(CHECK, {"provider": "onlyfansapi", "account_id": "acct_nobody", "api_key": API_KEY})
    assert "does not know account acct_nobody (404)" in other.json()["message"]
    empty = admin_client.post(CHECK, {"provider": "onlyfansapi", "account_id": ACCOUNT}).json()
    assert not empty["ok"] and "Give the API key first" in empty["message"]
    assert not Creator.objects.exists()


def test_the_button_without_javascript_answers_on_the_page(admin_client):
    r = admin_client.post(URL, fields(_check="1", api_key="sk-wrong"))
    assert r.status_code == 200 and not Creator.objects.exists()
    assert "refused the API key (401)" in r.content.decode()


def test_onboarding_reports_every_fault_at_once_keeps_the_files_and_saves_in_approve_mode(admin_client, fake):
    page = admin_client.get(URL).content.decode()
    assert 'id="check-connection"' in page and "salesbot/onboard.js" in page
    assert '<option value="onlyfansapi" selected>' in page and 'value="simple"' not in page
    assert "demo/content-map.json" not in page  # examples come from the form itself

    # First submit: the demo files under other names, two faults in the map. Both are named with their line.
    r = admin_client.post(
        URL,
        {
            **fields(),
            "content_map": SimpleUploadedFile("luna-map.json", faulty_map().encode()),
            "playbook": SimpleUploadedFile("luna-playbook.md", (DEMO / "playbook.md").read_bytes()),
        },
    )
    assert r.status_code == 200 and not Creator.objects.exists()
    errors = r.context["form"].errors["content_map"]
    lines = faulty_map().splitlines()
    price_line = next(i for i, t in enumerate(lines, 1) if '"price": 500' in t)
    key_line = next(i for i, t in enumerate(lines, 1) if '"content_key": "combo9"' in t)
    assert errors == [
        f"line {key_line}: templates.bump: content_key 'combo9' is not in the vault.",
        f"line {price_line}: Vault item 7 'combo7': price 500 is outside the price bounds 8–60.",
    ]
    body = r.content.decode()
    assert "Using <strong>luna-map.json</strong> uploaded earlier" in body
    assert "Using <strong>luna-playbook.md</strong> uploaded earlier" in body
    token = r.context["form"]["upload_token"].value()
    assert token and f'value="{token}"' in body

    # Second submit: only the fixed map is uploaded again; the playbook kept from the first is used.
    fixed = (
        faulty_map()
        .replace('"price": 500', '"price": 35')
        .replace('"content_key": "combo9"', '"content_key": "combo7"')
    )
    r = admin_client.post(
        URL, {**fields(), "upload_token": token, "content_map": SimpleUploadedFile("luna-map.json", fixed.encode())}
    )
    assert r.status_code == 302, r.context["form"].errors
    c = Creator.objects.get(slug="luna")
    assert r["Location"] == f"/admin/models_registry/creator/{c.pk}/onboarded/"
    assert (c.provider, c.api_base_url, c.account_id, c.api_key) == ("onlyfansapi", REAL_BASE, ACCOUNT, API_KEY)
    assert c.autonomy == "approve"
    assert c.playbook_sections.count() == 9 and c.vault_items.count() == 8
    assert c.templates.get(kind="bump").content_key == "combo7"
    done = admin_client.get(r["Location"]).content.decode()
    assert f"OK: OnlyFansAPI.com accepted the key for account {ACCOUNT}." in done
    assert "register_provider_webhook" in done and "sync_provider_vault" in done and "Switch to autopilot" in done

    # The next steps work from there: the vault sync is the changelist action the page posts.
    r = admin_client.post(
        "/admin/models_registry/creator/", {"action": "sync_provider_vault", "_selected_action": c.pk}, follow=True
    )
    assert "luna:" in " ".join(str(m) for m in r.context["messages"])

    # One click to autopilot, from the creator's page.
    change = admin_client.get(f"/admin/models_registry/creator/{c.pk}/change/").content.decode()
    assert 'id="switch-to-autopilot"' in change
    r = admin_client.post(f"/admin/models_registry/creator/{c.pk}/autopilot/")
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.autonomy == "autopilot"
    assert (
        'id="switch-to-autopilot"'
        not in admin_client.get(f"/admin/models_registry/creator/{c.pk}/change/").content.decode()
    )


def test_a_key_the_provider_refuses_is_not_saved(admin_client):
    r = admin_client.post(
        URL,
        {
            **fields(api_key="sk-wrong"),
            "content_map": SimpleUploadedFile("m.json", (DEMO / "content-map.json").read_bytes()),
            "playbook": SimpleUploadedFile("p.md", (DEMO / "playbook.md").read_bytes()),
        },
    )
    assert r.status_code == 200 and not Creator.objects.exists()
    assert "OnlyFansAPI.com refused the API key (401)" in " ".join(r.context["form"].errors["api_key"])


def test_example_files_are_downloaded_from_the_form(admin_client):
    for name in ("content-map.json", "playbook.md"):
        r = admin_client.get(f"{URL}example/{name}")
        assert r.status_code == 200 and f'filename="example-{name}"' in r["Content-Disposition"]
        assert b"".join(r.streaming_content) == (DEMO / name).read_bytes()
    assert admin_client.get(f"{URL}example/settings.py").status_code == 404


def test_the_simple_contract_is_offered_only_in_development(admin_client):
    assert 'value="simple"' not in admin_client.get(URL).content.decode()
    with override_settings(ONBOARDING_SIMPLE_PROVIDER=True):
        assert 'value="simple"' in admin_client.get(URL).content.decode()


def test_a_chatter_cannot_switch_a_creator_to_autopilot(client, db):
    from tests.factories import CreatorFactory
    from tests.team_helpers import chatter

    c = CreatorFactory(slug="luna", autonomy="approve")
    client.force_login(chatter("chatty", c))
    assert client.post(f"/admin/models_registry/creator/{c.pk}/autopilot/").status_code == 403
    assert client.post(CHECK, {"api_key": API_KEY}).status_code == 403
    c.refresh_from_db()
    assert c.autonomy == "approve"
