"""The OpenAPI schema validates without warnings and its docs page loads nothing from the network."""

import re
from pathlib import Path

import drf_spectacular_sidecar
import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

PROTECTED_PATHS = [
    "/api/{creator_slug}/stats",
    "/api/{creator_slug}/queue",
    "/api/{creator_slug}/performance",
    "/api/{creator_slug}/training",
    "/api/{creator_slug}/learning/stats",
    "/api/{creator_slug}/fan/{fan_id}",
    "/api/{creator_slug}/fan/{fan_id}/handoff",
    "/api/{creator_slug}/enable",
    "/api/{creator_slug}/disable",
    "/api/{creator_slug}/reactivate",
    "/api/{creator_slug}/mode",
    "/api/{creator_slug}/drafts",
    "/api/{creator_slug}/drafts/{draft_id}/approve",
    "/api/{creator_slug}/drafts/{draft_id}/reject",
    "/api/{creator_slug}/experiment",
    "/api/{creator_slug}/campaigns",
    "/api/{creator_slug}/campaigns/{campaign_id}",
    "/api/{creator_slug}/campaigns/{campaign_id}/approve",
    "/api/{creator_slug}/campaigns/{campaign_id}/cancel",
]
OPEN_PATHS = [
    "/api/health",
    "/api/{creator_slug}/health",
    "/api/webhook/{kind}",
    "/api/{creator_slug}/webhook/{kind}",
    "/api/providers/{provider}/webhook",
]


def test_spectacular_validates_with_no_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "openapi: 3" in out.read_text()


@pytest.fixture
def client(client, admin_user):
    """Staff, logged in to admin: the schema and docs page are behind the same staff check as the ops API."""
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_need_staff(anon_api, user_api, staff_api, path):
    assert anon_api.get(path).status_code == 401
    assert user_api.get(path).status_code == 403
    assert staff_api.get(path).status_code == 200


@pytest.fixture
def schema(client, db):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    return r.json()


def test_schema_lists_every_endpoint(schema):
    assert set(schema["paths"]) == set(PROTECTED_PATHS) | set(OPEN_PATHS)


def test_schema_says_which_endpoints_need_the_token(schema):
    for path in PROTECTED_PATHS:
        for op in schema["paths"][path].values():
            assert {"tokenAuth": []} in op["security"], path
            assert {"401", "403"} <= set(op["responses"]), path
    for path in OPEN_PATHS:
        for op in schema["paths"][path].values():
            assert "tokenAuth" not in str(op.get("security", [])), path


def test_docs_page_uses_only_local_assets(client, db):
    """Swagger UI's JS and CSS come from the installed drf-spectacular-sidecar, not from a CDN."""
    r = client.get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "swagger-ui" in html.lower()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls) and any(u.endswith("swagger-ui.css") for u in urls)
    assert all(u.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/") for u in urls), urls
    assert re.findall(r"https?://|[\"']//", html) == [], "the page names an outside host"
    assert '"validatorUrl": null' in html  # Swagger UI would otherwise call validator.swagger.io
    sidecar = Path(drf_spectacular_sidecar.__file__).parent
    for u in urls:
        found = finders.find(u.removeprefix("/static/"))
        assert found and Path(found).is_relative_to(sidecar), f"{u} is not served from the sidecar package"
