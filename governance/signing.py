"""The instance signing key: Ed25519, through `cryptography`.

The private key comes from ATTEST_SIGNING_KEY_FILE (a PEM file, e.g. a mounted secret) or,
when that is not set, from var/keys/signing-ed25519.pem, generated on first use. Public
keys of earlier keys stay in the retired directory (var/keys/retired/ by default,
ATTEST_SIGNING_RETIRED_KEYS_DIR), so signatures made before a rotation keep verifying.

A key id is the first 16 hex digits of the SHA-256 of the raw 32-byte public key. This
module imports nothing from `registry`.
"""

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

CURRENT, RETIRED = "current", "retired"


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    key: Ed25519PublicKey
    status: str

    @property
    def pem(self) -> str:
        return public_pem(self.key)


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, in full: what a reviewer pins (verify.py --fingerprint)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _managed_dir() -> Path:
    return Path(settings.VAR_DIR) / "keys"


def private_key_path() -> Path:
    configured = getattr(settings, "ATTEST_SIGNING_KEY_FILE", "")
    return Path(configured) if configured else _managed_dir() / "signing-ed25519.pem"


def retired_dir() -> Path:
    configured = getattr(settings, "ATTEST_SIGNING_RETIRED_KEYS_DIR", "")
    return Path(configured) if configured else _managed_dir() / "retired"


_cache: dict = {}


def private_key() -> Ed25519PrivateKey:
    """The current key; generated (mode 0600) when Attest manages the file and it is
    missing. A configured file that is missing or not an Ed25519 key is an error."""
    path = private_key_path()
    if not path.exists():
        if getattr(settings, "ATTEST_SIGNING_KEY_FILE", ""):
            raise RuntimeError(f"ATTEST_SIGNING_KEY_FILE {path} does not exist.")
        _write_new_key(path)
    # Keyed by the file's change time too, so every process picks up a rotated key.
    stamp = (path, path.stat().st_mtime_ns)
    if stamp not in _cache:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError(f"{path} does not hold an Ed25519 private key.")
        _cache.clear()
        _cache[stamp] = key
    return _cache[stamp]


def _write_new_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first: use theirs
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def current_key_id() -> str:
    return key_id_of(private_key().public_key())


def public_keys() -> list[PublicKey]:
    """The current key first, then every retired one (by key id)."""
    current = private_key().public_key()
    keys = [PublicKey(key_id_of(current), current, CURRENT)]
    seen = {keys[0].key_id}
    folder = retired_dir()
    for path in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        public = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(public, Ed25519PublicKey) and key_id_of(public) not in seen:
            seen.add(key_id_of(public))
            keys.append(PublicKey(key_id_of(public), public, RETIRED))
    return keys


def sign(message: bytes) -> tuple[str, str]:
    """(key id, base64 signature) of `message` under the current key."""
    key = private_key()
    return key_id_of(key.public_key()), base64.b64encode(key.sign(message)).decode()


def verify(key_id: str, message: bytes, signature_b64: str) -> bool:
    """True if a known key (current or retired) with this id signed `message`."""
    for public in public_keys():
        if public.key_id == key_id:
            try:
                public.key.verify(base64.b64decode(signature_b64, validate=True), message)
            except (InvalidSignature, ValueError):
                return False
            return True
    return False


def rotate() -> tuple[str, str]:
    """Retire the managed key (its public half kept for verification) and make a new one.
    Returns (old key id, new key id). A key from ATTEST_SIGNING_KEY_FILE is rotated by
    replacing the file and putting the old public key in the retired directory."""
    if getattr(settings, "ATTEST_SIGNING_KEY_FILE", ""):
        raise RuntimeError(
            "The signing key comes from ATTEST_SIGNING_KEY_FILE: replace that file, and put "
            "the old public key (manage.py signing_keys --pem) in the retired directory."
        )
    old = private_key()
    old_id = key_id_of(old.public_key())
    folder = retired_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{old_id}.pem").write_text(public_pem(old.public_key()))
    private_key_path().unlink()
    _cache.clear()
    return old_id, current_key_id()


def published_keys(keys: list[PublicKey]) -> dict:
    """The public keys as the well-known URL and `manage.py signing_keys --json` give them."""
    return {
        "algorithm": "Ed25519",
        "key_id": "first 16 hex digits of SHA-256 of the raw 32-byte public key",
        "keys": [
            {
                "key_id": k.key_id,
                "status": k.status,
                "fingerprint_sha256": fingerprint(k.key),
                "public_key_pem": k.pem,
            }
            for k in keys
        ],
    }
