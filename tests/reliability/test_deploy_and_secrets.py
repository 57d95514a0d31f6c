"""Production readiness: `check --deploy` is clean under production settings, and no secret (platform
API key, webhook secret, Anthropic key) ever reaches the logs or any admin page."""

import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django_q.conf import Conf

from models_registry.services import onboard_from_files
from salesbot.pipeline import worker
from tests.fake_processes import ACCOUNT
from tests.reliability.conftest import signed_post

API_KEY = "plat-key-" + "K7q2" * 6
WEBHOOK_SECRET = "whsec-" + "S9z4" * 6
ANTHROPIC_KEY = "sk-ant-" + "A3x8" * 8
SECRETS = [API_KEY, WEBHOOK_SECRET, ANTHROPIC_KEY]
ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(tmp_path, **extra):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {"PRODUCTION": "1", "DEBUG": "0", "ALLOWED_HOSTS": "bot.example.com"}


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(60)}
    out = _check_deploy(tmp_path, **env)
    # Production serves the collected static files: until collectstatic ran, the check says so.
    assert out.returncode != 0 and "salesbot.E001" in out.stderr and "collectstatic" in out.stderr, out.stderr
    # What collectstatic leaves for the check to find (the real collection is in test_static_files).
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "staticfiles.json").write_text('{"paths": {}, "version": "1.1", "hash": ""}')
    out = _check_deploy(tmp_path, **env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


@pytest.mark.parametrize("missing", [["SECRET_KEY"], ["ALLOWED_HOSTS"], ["SECRET_KEY", "ALLOWED_HOSTS"]])
def test_production_refuses_to_start_without_its_secret_key_and_hosts(tmp_path, missing):
    """Not the public development key, not localhost only: PRODUCTION=1 without them does not start."""
    env = {
        **os.environ,
        **PRODUCTION_ENV,
        "SECRET_KEY": secrets.token_urlsafe(60),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    for i, name in enumerate(missing):
        if i % 2:
            env[name] = " "  # set but blank counts as missing
        else:
            env.pop(name)
    out = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: PRODUCTION=1 needs "), out.stderr
    for name in ("SECRET_KEY", "ALLOWED_HOSTS"):
        assert (name in last) == (name in missing), last


def test_importing_settings_creates_no_directory():
    """Settings are read by every process (tests, checks, gunicorn workers): reading them writes nothing.
    The SQLite file's directory is made when a connection first needs it (next test)."""
    code = (
        "import os, sys; made = []; mkdir = os.mkdir\n"
        "os.mkdir = lambda path, *a, **k: (made.append(str(path)), mkdir(path, *a, **k))[1]\n"
        "import django; django.setup(); print(made)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "DJANGO_SETTINGS_MODULE": "salesbot.settings"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def test_sqlite_directory_is_made_at_first_connection(tmp_path):
    db = tmp_path / "fresh" / "clone" / "var" / "salesbot.sqlite3"
    code = (
        "from django.db import connection; connection.ensure_connection(); "
        "print(connection.settings_dict['ENGINE']); print(connection.vendor)"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{db}"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-2:] == ["salesbot.sqlite_backend", "sqlite"] and db.is_file()


def test_check_deploy_does_flag_the_development_defaults(tmp_path):
    """The check above is not vacuous: the development defaults do fail it."""
    env = {"DEBUG": "1"}
    out = _check_deploy(tmp_path, **env)
    assert out.returncode != 0 and "security.W" in out.stdout + out.stderr


def _no_secret_in(text: str, where: str):
    for s in SECRETS:
        assert s not in text, f"a secret ({s[:8]}…) appears in {where}"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_secrets_never_reach_logs_or_admin(
    client, admin_client, start_fake_platform, fake_llm, settings, monkeypatch, caplog
):
    """A whole loop (welcome, chat, PPV, LLM call, a failed send, a forged webhook) with every project
    log record captured at DEBUG, then every admin changelist and change form rendered."""
    monkeypatch.setattr(Conf, "SYNC", True)
    fake_platform = start_fake_platform(api_key=API_KEY, secret=WEBHOOK_SECRET)
    settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL = ANTHROPIC_KEY, fake_llm.url
    settings.PLATFORM_BACKOFF_S, settings.PLATFORM_RETRIES = 0.01, 1
    caplog.set_level(logging.DEBUG)
    creator = onboard_from_files(
        "demo/content-map.json",
        "demo/playbook.md",
        slug="demo",
        account_id=ACCOUNT,
        api_base_url=fake_platform.url,
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
    )
    url = f"/api/{creator.slug}/webhook/of-event"

    def event(i, name, payload):
        return {
            "event_id": f"evt_{i}",
            "event": name,
            "account_id": ACCOUNT,
            "created_at": "2026-11-24T18:00:00Z",
            "payload": payload,
        }

    fan = {"id": 4242, "name": "Sam"}
    assert signed_post(client, url, event(0, "subscriptions.new", {"fan": fan}), WEBHOOK_SECRET).status_code == 200
    for i, text in enumerate(["hey", "you look great", "what else do you have?", "show me more"] * 3, start=1):
        body = event(i, "messages.received", {"fan": fan, "message": {"id": i, "text": text}})
        assert signed_post(client, url, body, WEBHOOK_SECRET).status_code == 200
    fake_platform.fake("POST", "fail", json={"status": 500, "times": 3})
    body = event(99, "messages.received", {"fan": {"id": 4243}, "message": {"id": 99, "text": "hi"}})
    signed_post(client, url, body, WEBHOOK_SECRET)
    assert signed_post(client, url, body, "forged").status_code == 401
    worker.drain()
    assert fake_platform.fake("GET", "messages")["messages"], "the loop sent nothing: the test proves nothing"
    assert fake_llm.fake("GET", "requests")["requests"], "no LLM call: the Anthropic key was never used"
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert len(caplog.records) > 3, "too few log records to prove anything"
    _no_secret_in(records, "the logs")

    pages = 0
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        try:
            changelist = reverse("admin:{}_{}_changelist".format(*info))
        except NoReverseMatch:
            continue
        r = admin_client.get(changelist)
        assert r.status_code == 200, changelist
        _no_secret_in(r.content.decode(), changelist)
        obj = model_admin.get_queryset(r.wsgi_request).order_by("pk").first()
        if obj is not None and model_admin.has_change_permission(r.wsgi_request, obj):
            change = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
            r = admin_client.get(change)
            assert r.status_code == 200, change
            _no_secret_in(r.content.decode(), change)
            pages += 1
        pages += 1
    assert pages >= 10
