"""The OpenAPI schema validates without warnings and its docs page loads nothing from the network."""
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

PROTECTED_PATHS = ["/api/{creator_slug}/stats", "/api/{creator_slug}/queue", "/api/{creator_slug}/performance",
                   "/api/{creator_slug}/training", "/api/{creator_slug}/learning/stats",
                   "/api/{creator_slug}/fan/{fan_id}", "/api/{creator_slug}/fan/{fan_id}/handoff",
                   "/api/{creator_slug}/enable", "/api/{creator_slug}/disable", "/api/{creator_slug}/reactivate"]
OPEN_PATHS = ["/api/health", "/api/{creator_slug}/health", "/api/webhook/{kind}", "/api/{creator_slug}/webhook/{kind}"]


def test_spectacular_validates_with_no_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "openapi: 3" in out.read_text()


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
    r = client.get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "swagger-ui" in html.lower()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert urls and all(u.startswith("/static/") for u in urls), urls
    assert re.findall(r"https?://|[\"']//", html) == [], "the page names an outside host"
    assert '"validatorUrl": null' in html  # Swagger UI would otherwise call validator.swagger.io
    for u in re.findall(r"""(?:src|href)\s*=\s*["']/static/([^"'?]+)""", html):
        assert finders.find(u), f"static asset {u} is not installed"
