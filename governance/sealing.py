"""Secrets the server must read back, sealed at rest (webhook signing secrets).

A webhook's HMAC signature needs the secret itself, so it cannot be hashed like a
password or an API token. It is stored encrypted instead (Fernet: AES-128-CBC with an
HMAC-SHA256 tag) under a key derived from SECRET_KEY, so a copy of the database alone
(a backup, a replica, a dump handed to support) does not reveal it.

Keys derived from SECRET_KEY_FALLBACKS still open what they sealed: rotate SECRET_KEY by
moving the old value to SECRET_KEY_FALLBACKS, then run `manage.py reseal_secrets`, which
seals every secret again under the new key, before dropping the old one.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes

PREFIX = "sealed:v1:"
_SALT = "attest.sealing"


class SealError(Exception):
    """A stored secret cannot be opened with the configured keys."""


def _box() -> MultiFernet:
    # Built per call: settings may change (key rotation, tests), and it costs microseconds.
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def _fernet_key(secret_key) -> bytes:
    digest = salted_hmac(_SALT, "fernet key", secret=force_bytes(secret_key), algorithm="sha256")
    return base64.urlsafe_b64encode(digest.digest())


def seal(plaintext: str) -> str:
    return PREFIX + _box().encrypt(plaintext.encode()).decode()


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def unseal(stored: str) -> str:
    if not is_sealed(stored):
        raise SealError("The stored secret is not sealed; run the migrations.")
    try:
        return _box().decrypt(stored.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise SealError(
            "The signing secret was sealed with a SECRET_KEY that is no longer configured "
            "(neither SECRET_KEY nor SECRET_KEY_FALLBACKS); recreate the webhook."
        ) from None


def reseal(stored: str) -> str:
    """The same secret sealed under the current SECRET_KEY (for key rotation)."""
    if not is_sealed(stored):
        return seal(stored)
    try:
        return PREFIX + _box().rotate(stored.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise SealError("A secret sealed with an unknown key cannot be resealed.") from None
