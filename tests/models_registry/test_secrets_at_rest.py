"""Creators' credentials are encrypted at rest (models_registry.encryption): the raw column, a dump and an export
hold no key or secret; a key rotation re-encrypts every creator and the webhooks still verify."""

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection

from models_registry.models import Creator
from models_registry.services import onboard_from_files
from tests.factories import FanFactory
from tests.reliability.conftest import signed_post

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "plat-key-" + "R4nd" * 6
SECRET = "whsec-" + "Q8p1" * 6
OLD_SECRET = "whsec-old-" + "Z2k9" * 6
FIELDS = ("api_key", "webhook_secret", "webhook_secret_registered")


def raw_columns() -> dict[int, tuple]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT id, {', '.join(FIELDS)} FROM models_registry_creator ORDER BY id")
        return {pk: tuple(values) for pk, *values in cur.fetchall()}


@pytest.fixture
def creators(db):
    made = []
    for i in range(3):
        c = onboard_from_files(
            ROOT / "demo" / "content-map.json",
            ROOT / "demo" / "playbook.md",
            slug=f"c{i}",
            account_id=f"acct_{i}",
            api_key=f"{API_KEY}{i}",
            webhook_secret=f"{SECRET}{i}",
        )
        Creator.objects.filter(pk=c.pk).update(webhook_secret_registered=f"{OLD_SECRET}{i}")
        made.append(c)
    return made


def test_the_raw_column_holds_no_key_or_secret(creators):
    raw = raw_columns()
    assert len(raw) == 3
    blob = json.dumps(raw)
    for i in range(3):
        for clear in (f"{API_KEY}{i}", f"{SECRET}{i}", f"{OLD_SECRET}{i}"):
            assert clear not in blob
    assert all(v.startswith("gAAAA") for values in raw.values() for v in values)  # Fernet tokens
    c = Creator.objects.get(slug="c1")  # and the code reads them in clear
    assert (c.api_key, c.webhook_secret, c.webhook_secret_registered) == (f"{API_KEY}1", f"{SECRET}1", f"{OLD_SECRET}1")
    assert repr(c).count("••••") == 2 and API_KEY not in repr(c)


def test_an_empty_key_stays_a_plain_filter_and_a_secret_cannot_be_filtered_on(creators):
    Creator.objects.filter(slug="c2").update(api_key="")
    assert raw_columns()[creators[2].pk][0] == ""
    assert sorted(Creator.objects.exclude(api_key="").values_list("slug", flat=True)) == ["c0", "c1"]
    with pytest.raises(FieldError):
        list(Creator.objects.filter(api_key=f"{API_KEY}0"))
    with pytest.raises(FieldError):
        list(Creator.objects.filter(webhook_secret__startswith="whsec"))


def test_rotation_reencrypts_every_creator_and_webhooks_still_verify(creators, settings, client):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    before = raw_columns()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]  # the new key first; the old one still reads
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("rotate_encryption_key", "--check", stdout=out)
    assert out.getvalue().startswith("9 secret(s) not yet under the newest key")
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "re-encrypted 9 secret(s)" in out.getvalue()
    after = raw_columns()
    assert all(a != b for pk in before for a, b in zip(before[pk], after[pk], strict=True))
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key dropped: everything still opens
    call_command("rotate_encryption_key", "--check", stdout=io.StringIO())
    for i, c in enumerate(Creator.objects.order_by("slug")):
        assert (c.api_key, c.webhook_secret) == (f"{API_KEY}{i}", f"{SECRET}{i}")
        body = {
            "event_id": f"evt_rot_{i}",
            "event": "messages.received",
            "account_id": c.account_id,
            "created_at": "2026-11-24T18:00:00Z",
            "payload": {"fan": {"id": 50 + i}, "message": {"id": 1, "text": "hi"}},
        }
        url = f"/api/{c.slug}/webhook/of-event"
        assert signed_post(client, url, body, f"{SECRET}{i}").status_code == 200
        assert signed_post(client, url, {**body, "event_id": f"evt_bad_{i}"}, "forged").status_code == 401
    settings.FIELD_ENCRYPTION_KEYS = [old_key]  # only the old key: it cannot read the new tokens
    with pytest.raises(Exception, match="cannot be decrypted"):
        Creator.objects.get(slug="c0")


def test_a_dump_holds_no_secret_and_loads_back(creators, settings, tmp_path):
    out = io.StringIO()
    call_command("dumpdata", "models_registry.creator", stdout=out)
    dump = out.getvalue()
    for i in range(3):
        for clear in (f"{API_KEY}{i}", f"{SECRET}{i}", f"{OLD_SECRET}{i}"):
            assert clear not in dump
    rows = json.loads(dump)
    assert len(rows) == 3 and rows[0]["fields"]["api_key"].startswith("gAAAA")
    # loaddata (with the key) puts back the same secrets, not a token of a token.
    Creator.objects.filter(slug="c0").update(api_key="changed")
    path = tmp_path / "creators.json"
    path.write_text(dump)
    call_command("loaddata", str(path), stdout=io.StringIO())
    assert Creator.objects.get(slug="c0").api_key == f"{API_KEY}0"
    assert raw_columns()[creators[0].pk][0].startswith("gAAAA")


def test_the_seed_log_export_holds_no_secret(creators, tmp_path):
    fan = FanFactory(creator=creators[0], fan_id=777, name="Kai")
    assert fan.pk
    call_command("export_seed_logs", str(tmp_path), creator="c0", stdout=io.StringIO())
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    text = "\n".join(p.read_text(errors="replace") for p in files)
    for clear in (f"{API_KEY}0", f"{SECRET}0", f"{OLD_SECRET}0"):
        assert clear not in text


def test_the_migration_encrypts_rows_stored_in_clear(creators):
    from importlib import import_module

    migration = import_module("models_registry.migrations.0017_encrypt_credentials")
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE models_registry_creator SET api_key = %s, webhook_secret = %s WHERE id = %s",
            ["legacy-key", "legacy-secret", creators[0].pk],
        )
    migration.encrypt_stored(None, connection.schema_editor())
    raw = raw_columns()[creators[0].pk]
    assert "legacy" not in json.dumps(raw) and raw[0].startswith("gAAAA")
    c = Creator.objects.get(pk=creators[0].pk)
    assert (c.api_key, c.webhook_secret, c.webhook_secret_registered) == (
        "legacy-key",
        "legacy-secret",
        f"{OLD_SECRET}0",
    )


def _env(tmp_path, **extra):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **extra}
    env.pop("FIELD_ENCRYPTION_KEYS", None)
    for name in ("PRODUCTION", "REDIS_URL"):
        if name not in extra:
            env.pop(name, None)
    return env


def test_production_refuses_to_start_without_the_encryption_key(tmp_path):
    env = _env(tmp_path, PRODUCTION="1", DEBUG="0", SECRET_KEY="s" * 60, ALLOWED_HOSTS="bot.example.com")
    out = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: PRODUCTION=1 needs FIELD_ENCRYPTION_KEYS")


def test_make_run_makes_a_development_key_by_itself(tmp_path):
    """`make run` with nothing set: run_demo makes the key (FIELD_ENCRYPTION_KEY_FILE, var/ by default), and the
    demo creator's credentials are stored encrypted with it."""
    key_file = tmp_path / "var" / "field-encryption.key"
    env = _env(tmp_path, FIELD_ENCRYPTION_KEY_FILE=str(key_file))
    out = subprocess.run(
        [sys.executable, "manage.py", "run_demo", "--setup-only", "--no-import"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    key = key_file.read_text().strip()
    Fernet(key.encode())
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        api_key, secret = db.execute("SELECT api_key, webhook_secret FROM models_registry_creator").fetchone()
    assert api_key.startswith("gAAAA") and "demo" not in api_key + secret
    assert Fernet(key.encode()).decrypt(api_key.encode()).decode() == "demo-platform-key"
