"""Static files (admin styles, the API docs page's Swagger UI) are served by the real servers with DEBUG
off: `runserver --noreload` as `make run` starts it, and gunicorn with gunicorn.conf.py, both straight
from the installed apps; and with PRODUCTION=1, gunicorn serves the collected, hashed, compressed files."""

import json
import secrets
import subprocess
import sys

import pytest

from tests.web_servers import ROOT, WebServer, server_env

pytestmark = pytest.mark.integration

STYLESHEETS = ["/static/admin/css/base.css", "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"]


def assert_stylesheets_served(web):
    for path in STYLESHEETS:
        r = web.get(path)
        assert r.status_code == 200, f"{path}: {r.status_code}\n{web.output()}"
        assert r.headers["Content-Type"].startswith("text/css"), (path, r.headers["Content-Type"])
        assert len(r.content) > 1000 and b"{" in r.content, path
    assert web.get("/static/admin/css/no-such-file.css").status_code == 404


@pytest.mark.parametrize("kind", ["runserver", "gunicorn"])
def test_servers_serve_static_files_with_debug_off(kind, tmp_path):
    with WebServer(kind, tmp_path) as web:
        assert_stylesheets_served(web)
        # The admin login page links the stylesheet at the URL just checked.
        assert 'href="/static/admin/css/base.css"' in web.get("/admin/login/").text


def test_production_gunicorn_serves_collected_hashed_compressed_files(tmp_path):
    static_root = tmp_path / "static"
    env = {
        "PRODUCTION": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
    }
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=server_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert collect.returncode == 0, collect.stdout + collect.stderr
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    https = {"X-Forwarded-Proto": "https"}  # as the proxy in front says; otherwise SSL redirect
    with WebServer("gunicorn", tmp_path, **env) as web:
        assert_stylesheets_served(
            type("Https", (), {"get": lambda _, p: web.get(p, headers=https), "output": web.output})()
        )
        hashed = "/static/" + manifest["admin/css/base.css"]
        assert hashed != "/static/admin/css/base.css"
        assert f'href="{hashed}"' in web.get("/admin/login/", headers=https).text
        r = web.get(hashed, headers={**https, "Accept-Encoding": "gzip"}, stream=True)
        assert r.status_code == 200 and r.headers.get("Content-Encoding") == "gzip", r.headers
        assert "immutable" in r.headers["Cache-Control"], r.headers
