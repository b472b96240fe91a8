"""Strict helpers for reading settings from the environment.

Every helper accepts `NAME_FILE` as an alternative to `NAME` so secrets can come from
mounted files (Docker/Kubernetes secrets). A malformed value fails loudly at start-up
rather than silently falling back to a default.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name)


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = _raw(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"The environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false).")


def env_int(name: str, default: int) -> int:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_role_map(name: str) -> dict[str, str]:
    """`provider group=Attest role` pairs, comma-separated (OIDC_ROLE_MAP), e.g.
    `ml-approvers=Approvers,grc=Compliance`. Only Attest's role groups may be named."""
    roles = {"Data scientists", "Approvers", "Auditors", "Registry admins", "Compliance"}
    mapping = {}
    for pair in env_list(name):
        group, sep, role = pair.partition("=")
        if not sep or not group.strip() or role.strip() not in roles:
            raise ImproperlyConfigured(
                f"{name}: {pair!r} is not 'provider group=role' with a role among "
                + ", ".join(sorted(roles))
            )
        mapping[group.strip()] = role.strip()
    return mapping
