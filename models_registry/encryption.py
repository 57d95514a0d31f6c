"""Credentials encrypted at rest (a creator's platform API key and webhook signing secrets).

The keys are Fernet keys (`cryptography`) from the environment, `FIELD_ENCRYPTION_KEYS`, comma-separated,
newest first: the first encrypts, every one of them decrypts (MultiFernet), so a rotation is: put a new key
first, deploy, run `manage.py rotate_encryption_key` (re-encrypts every stored secret with the new key), then
drop the old key. Without the variable (development, `make run`) a key is made once in
`FIELD_ENCRYPTION_KEY_FILE` (var/field-encryption.key) and reused; `PRODUCTION=1` refuses to start without it.

The column holds the Fernet token, never the value: a database dump, backup or replica read without the key
reveals no credential. `dumpdata` writes the token too (EncryptedTextField.value_to_string) and `loaddata`
reads it back with the same keys. An empty value stays empty (so "no key set" is still a plain filter); any
other equality lookup is refused, since each encryption of a value differs: compare decrypted values in Python.
"""

import functools
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models
from django.db.models.lookups import Exact

PREFIX = "gAAAA"  # every Fernet token (version byte 0x80, base64): what an encrypted column value starts with


class DecryptionError(ImproperlyConfigured):
    """A stored secret none of the configured keys opens (a key was dropped too early, or the wrong one set)."""


def _dev_key(path: Path) -> str:
    """The development key: read from its file, made there (mode 600) the first time it is needed."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def configured_keys() -> list[str]:
    keys = [k.strip() for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) if k.strip()]
    if keys:
        return keys
    if getattr(settings, "PRODUCTION", False):
        raise ImproperlyConfigured("PRODUCTION=1 needs FIELD_ENCRYPTION_KEYS (Fernet keys, newest first)")
    return [_dev_key(Path(settings.FIELD_ENCRYPTION_KEY_FILE))]


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as e:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key ({e}); make one "
            "with `manage.py rotate_encryption_key --new-key`"
        ) from None


def fernet() -> MultiFernet:
    return _fernet(tuple(configured_keys()))


@functools.lru_cache(maxsize=1024)
def _decrypted(keys: tuple[str, ...], token: str) -> str:
    """A token's clear text, kept per key set: every load of a creator's row decrypts its credentials, and
    the queue loads one per reply (a Fernet decrypt is an HMAC and an AES pass); a failure is not kept."""
    return _fernet(keys).decrypt(token.encode()).decode()


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _decrypted(tuple(configured_keys()), token)
    except InvalidToken:
        raise DecryptionError(
            "a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS: the key it was "
            "encrypted with is missing (keep old keys after the new one until "
            "`manage.py rotate_encryption_key` has run)"
        ) from None


def rotate(token: str) -> str:
    """The same secret encrypted with the first (newest) key."""
    return fernet().rotate(token.encode()).decode() if token else ""


def is_encrypted(value: str) -> bool:
    return bool(value) and value.startswith(PREFIX)


class EncryptedTextField(models.TextField):
    """A text credential stored as a Fernet token; Python code reads and writes the clear value."""

    description = "Text encrypted at rest (Fernet)"

    def from_db_value(self, value, expression, connection):
        return value if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else encrypt(value)

    def to_python(self, value):
        # loaddata hands back what dumpdata wrote: the token; a form's clean value is the clear text.
        if isinstance(value, str) and is_encrypted(value):
            try:
                return fernet().decrypt(value.encode()).decode()
            except InvalidToken:
                pass
        return super().to_python(value)

    def value_to_string(self, obj):
        """dumpdata (and every serializer) writes the token, never the secret."""
        return encrypt(self.value_from_object(obj) or "")

    def get_lookup(self, lookup_name):
        if lookup_name not in ("exact", "isnull"):
            raise FieldError(f"{self.name} is encrypted: '{lookup_name}' cannot be asked of it in the database")
        return EmptyOnlyExact if lookup_name == "exact" else super().get_lookup(lookup_name)


class EmptyOnlyExact(Exact):
    """`field=""` (no secret set) works in the database; an equality with a secret cannot."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.target.name} is encrypted (each encryption differs): compare decrypted "
                "values in Python instead of filtering on one"
            )
        return self.rhs
