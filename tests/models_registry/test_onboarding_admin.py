"""Creator onboarding: the admin form and `manage.py onboard_creator`, same checks, one transaction."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from models_registry.forms import CreatorOnboardingForm
from models_registry.models import Creator, PlaybookSection, ResponseTemplate, VaultItem
from tests.admin.conftest import DEMO
from tests.factories import CreatorFactory

URL = "/admin/models_registry/creator/onboard/"
NOWHERE = "http://127.0.0.1:9/api"  # a closed port: the key check cannot reach the provider (no network in tests)


@pytest.fixture(autouse=True)
def provider_unreachable(monkeypatch):
    """OnlyFansAPI.com's own base URL (the default) points at a closed port: the check before saving says it
    could not ask, and onboarding goes on (tests/salesbot/providers/test_onboarding_check.py asks the fake)."""
    monkeypatch.setattr("salesbot.providers.onlyfansapi.client.DEFAULT_BASE_URL", NOWHERE)


CONTENT_MAP = json.loads((DEMO / "content-map.json").read_text())
PLAYBOOK = (DEMO / "playbook.md").read_text()


def upload(name, content):
    data = (
        content
        if isinstance(content, bytes)
        else (json.dumps(content) if isinstance(content, dict) else content).encode()
    )
    return SimpleUploadedFile(name, data)


def post(client, content_map=CONTENT_MAP, playbook=PLAYBOOK, **fields):
    data = {
        "slug": "luna",
        "display_name": "Luna",
        "account_id": "acct_luna",
        "api_key": "sk-live-abcdef987654",
        "webhook_secret": "whsec-0123456789",
        "ppv_min_price": "8",
        "ppv_max_price": "60",
        "entry_price": "18",
        **fields,
    }
    data["content_map"] = upload("content-map.json", content_map)
    data["playbook"] = upload("playbook.md", playbook)
    return client.post(URL, data)


def errors_of(response) -> str:
    form = response.context["form"]
    return json.dumps(form.errors, ensure_ascii=False)


def test_changelist_has_the_onboard_button(admin_client):
    body = admin_client.get("/admin/models_registry/creator/").content.decode()
    assert URL in body and "Onboard a creator" in body


def test_form_page_renders_every_field(admin_client):
    body = admin_client.get(URL).content.decode()
    for name in [
        "slug",
        "account_id",
        "api_key",
        "webhook_secret",
        "ppv_min_price",
        "ppv_max_price",
        "entry_price",
        "content_map",
        "playbook",
    ]:
        assert f'name="{name}"' in body, name
    assert 'type="password"' in body and 'enctype="multipart/form-data"' in body


def test_onboarding_creates_everything(admin_client):
    r = post(admin_client)
    assert r.status_code == 302, errors_of(r)
    c = Creator.objects.get(slug="luna")
    assert r["Location"] == f"/admin/models_registry/creator/{c.pk}/onboarded/"
    assert (c.display_name, c.account_id, c.api_key, c.webhook_secret) == (
        "Luna",
        "acct_luna",
        "sk-live-abcdef987654",
        "whsec-0123456789",
    )
    assert (c.provider, c.api_base_url, c.autonomy) == ("onlyfansapi", "https://app.onlyfansapi.com/api", "approve")
    assert c.platform_user_id == 1  # from the content map: the form left it empty
    assert VaultItem.objects.filter(creator=c).count() == 8
    assert ResponseTemplate.objects.filter(creator=c).count() == 8
    assert list(PlaybookSection.objects.filter(creator=c).values_list("number", flat=True)) == [
        1,
        2,
        4,
        6,
        7,
        9,
        10,
        11,
        14,
    ]
    assert c.restricted_words == ["meet up", "phone number", "snapchat"]
    page = admin_client.get(r["Location"]).content.decode()
    assert "onboarded: 8 vault items, 9 playbook sections" in page
    assert "The key could not be checked: Could not reach OnlyFansAPI.com" in page
    for step in ("register_provider_webhook", "sync_provider_vault", "Switch to autopilot"):
        assert step in page, step
    assert "sk-live-abcdef987654" not in page and "whsec-0123456789" not in page  # write-only


def test_secret_is_generated_when_left_empty(admin_client):
    assert post(admin_client, webhook_secret="").status_code == 302
    assert len(Creator.objects.get(slug="luna").webhook_secret) == 48


def test_secrets_are_not_rendered_back_after_an_error(admin_client):
    r = post(admin_client, content_map=b"{not json")
    assert r.status_code == 200 and b"sk-live-abcdef987654" not in r.content


@pytest.mark.parametrize(
    "content_map,playbook,expected",
    [
        (
            b"{not json",
            PLAYBOOK,
            "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2",
        ),
        ({"vault": []}, PLAYBOOK, "'vault' must be a non-empty list of items."),
        (
            {
                "vault": [{"content_key": "a"}, {"content_key": "a", "price": "cheap"}],
                "templates": {"ppv": {"variants": ["x"], "content_key": "zzz"}, "spam": {}},
            },
            PLAYBOOK,
            [
                "content_key 'a' appears twice",
                "price 'cheap' is not a number",
                "content_key 'zzz' is not in the vault",
                "templates.spam: unknown kind",
            ],
        ),
        (CONTENT_MAP, "# no sections here", "The playbook has no sections"),
        (CONTENT_MAP, "## §1 A\nx\n## §1 B\ny", "line 3: The playbook has §1 twice (first at line 1)."),
        (CONTENT_MAP, "## §1 A\n<!-- serves: buyer, royalty -->x", "unknown fan state(s) ['royalty']"),
        (CONTENT_MAP, b"\xff\xfe\x00bad", "not UTF-8 text"),
    ],
)
def test_every_problem_is_shown_and_nothing_is_saved(admin_client, content_map, playbook, expected):
    r = post(admin_client, content_map=content_map, playbook=playbook)
    assert r.status_code == 200
    body = r.content.decode()
    assert "Please correct the error" in body
    for message in [expected] if isinstance(expected, str) else expected:
        assert message in errors_of(r), message
    assert not Creator.objects.exists()


def test_price_bounds_are_checked_against_the_vault(admin_client):
    r = post(admin_client, ppv_max_price="30")
    errors = errors_of(r)
    assert "Vault item 7 'combo7': price 35 is outside the price bounds 8–30." in errors
    assert "Vault item 8 'video_long': price 50 is outside the price bounds 8–30." in errors
    r = post(admin_client, ppv_min_price="50", ppv_max_price="40")
    assert "The maximum PPV price (40) is below the minimum (50)." in errors_of(r)
    r = post(admin_client, entry_price="70")
    assert "The entry price 70 is outside the price bounds 8–60." in errors_of(r)
    assert not Creator.objects.exists()


def test_existing_slug_needs_replace(admin_client):
    CreatorFactory(slug="luna", account_id="acct_luna")
    r = post(admin_client)
    assert "A creator 'luna' already exists." in errors_of(r)
    assert post(admin_client, replace="on").status_code == 302
    assert Creator.objects.get(slug="luna").vault_items.count() == 8


def test_a_model_error_rolls_everything_back(admin_client):
    CreatorFactory(slug="other", account_id="acct_luna")
    r = post(admin_client)
    assert r.status_code == 200
    assert "already exists" in errors_of(r) and "account_id" in errors_of(r)
    assert not Creator.objects.filter(slug="luna").exists()
    assert not VaultItem.objects.exists() and not PlaybookSection.objects.exists()


def test_form_is_usable_without_admin(db):
    form = CreatorOnboardingForm(
        {"slug": "solo", "api_key": "k-1234"},
        {"content_map": upload("m.json", CONTENT_MAP), "playbook": upload("p.md", PLAYBOOK)},
    )
    assert form.is_valid(), form.errors
    creator = form.save()
    assert (creator.slug, creator.account_id, creator.ppv_max_price) == ("solo", "acct_demo", 60)
    assert (creator.provider, creator.autonomy) == ("onlyfansapi", "approve")


# --- manage.py onboard_creator -----------------------------------------------------------------


def run(*args):
    from io import StringIO

    out = StringIO()
    call_command("onboard_creator", *args, stdout=out)
    return out.getvalue()


def test_command_onboards_from_files_with_the_key_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("LUNA_KEY", "sk-from-env-5678")
    out = run(
        "luna",
        "--content-map",
        str(DEMO / "content-map.json"),
        "--playbook",
        str(DEMO / "playbook.md"),
        "--account-id",
        "acct_luna",
        "--api-key-env",
        "LUNA_KEY",
        "--ppv-max",
        "80",
    )
    c = Creator.objects.get(slug="luna")
    assert (c.api_key, c.account_id, c.ppv_max_price) == ("sk-from-env-5678", "acct_luna", 80)
    assert "Creator 'luna' onboarded" in out and "vault items:    8" in out and "§14 Restricted words" in out
    assert "sk-from-env-5678" not in out and "••••5678" in out
    assert c.webhook_secret not in out


def test_command_reports_every_error(db, tmp_path):
    bad = tmp_path / "map.json"
    bad.write_text(json.dumps({"vault": [{"content_key": "a", "price": 500}]}))
    with pytest.raises(CommandError) as e:
        run("luna", "--content-map", str(bad), "--playbook", str(tmp_path / "missing.md"))
    assert "missing.md" in str(e.value)
    (tmp_path / "p.md").write_text("nothing")
    with pytest.raises(CommandError) as e:
        run("luna", "--content-map", str(bad), "--playbook", str(tmp_path / "p.md"))
    text = str(e.value)
    assert "price 500 is outside the price bounds 5–100" in text and "The playbook has no sections" in text
    assert not Creator.objects.exists()


def test_command_refuses_an_unset_env_variable_and_existing_slug(db, monkeypatch):
    monkeypatch.delenv("NOPE", raising=False)
    args = ["demo", "--content-map", str(DEMO / "content-map.json"), "--playbook", str(DEMO / "playbook.md")]
    with pytest.raises(CommandError, match="NOPE is not set"):
        run(*args, "--api-key-env", "NOPE")
    run(*args)
    with pytest.raises(CommandError, match="--replace"):
        run(*args)
    assert "onboarded" in run(*args, "--replace", "--show-webhook-secret")


def test_command_prompts_for_secrets(db, monkeypatch):
    answers = iter(["typed-key-0001", ""])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    run(
        "luna",
        "--content-map",
        str(DEMO / "content-map.json"),
        "--playbook",
        str(DEMO / "playbook.md"),
        "--account-id",
        "acct_luna",
        "--prompt-secrets",
    )
    assert Creator.objects.get(slug="luna").api_key == "typed-key-0001"
