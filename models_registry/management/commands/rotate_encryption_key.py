"""Key rotation for the credentials encrypted at rest (models_registry.encryption).

1. `manage.py rotate_encryption_key --new-key` prints a new key;
2. put it first in FIELD_ENCRYPTION_KEYS (old keys after it, still read) and restart;
3. `manage.py rotate_encryption_key` re-encrypts every creator's secrets with the first key;
4. drop the old keys from FIELD_ENCRYPTION_KEYS.
"""

from cryptography.fernet import Fernet, InvalidToken
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from models_registry.encryption import configured_keys, rotate
from models_registry.models import Creator

FIELDS = ("api_key", "webhook_secret", "webhook_secret_registered")


class Command(BaseCommand):
    help = "Re-encrypt every stored credential with the first key of FIELD_ENCRYPTION_KEYS (or --new-key)."

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help="print a new Fernet key and exit")
        parser.add_argument(
            "--check", action="store_true", help="only count the secrets not yet under the first key (exit 1 if any)"
        )

    def handle(self, *args, **opts):
        if opts["new_key"]:
            self.stdout.write(Fernet.generate_key().decode())
            return
        newest = Fernet(configured_keys()[0].encode())
        table, q = Creator._meta.db_table, connection.ops.quote_name
        stale = rotated = 0
        with transaction.atomic(), connection.cursor() as cur:
            # The raw tokens: rotating them never puts a clear value in memory longer than the swap.
            cur.execute(f"SELECT id, {', '.join(q(f) for f in FIELDS)} FROM {q(table)} ORDER BY id")
            for pk, *tokens in cur.fetchall():
                old = [t for t in tokens if t and not _opens(newest, t)]
                stale += len(old)
                if old and not opts["check"]:
                    cur.execute(
                        f"UPDATE {q(table)} SET {', '.join(f'{q(f)} = %s' for f in FIELDS)} WHERE id = %s",
                        [*(rotate(t) if t else "" for t in tokens), pk],
                    )
                    rotated += len(old)
        if opts["check"]:
            self.stdout.write(f"{stale} secret(s) not yet under the newest key")
            if stale:
                raise SystemExit(1)
            return
        self.stdout.write(f"re-encrypted {rotated} secret(s) with the newest key")


def _opens(fernet: Fernet, token: str) -> bool:
    try:
        fernet.decrypt(token.encode())
        return True
    except InvalidToken:
        return False
