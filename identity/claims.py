"""What an identity provider's claims mean in Attest: roles and teams.

`OIDC_ROLE_MAP` maps the provider's group names to Attest's role groups; `OIDC_TEAM_CLAIM`
names the claim that lists a person's teams. Both are evaluated at every sign-in, so the
provider is the source of truth for people who sign in through it."""

from django.conf import settings

from governance import access

ROLE_GROUPS = frozenset({*access.ROLES, access.ROLE_COMPLIANCE})


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def roles_from_claims(claims: dict) -> set[str]:
    groups = _as_list(claims.get(settings.OIDC_GROUPS_CLAIM))
    return {settings.OIDC_ROLE_MAP[g] for g in groups if g in settings.OIDC_ROLE_MAP}


def teams_from_claims(claims: dict) -> set[str]:
    if not settings.OIDC_TEAM_CLAIM:
        return set()
    teams = {t.strip()[:150] for t in _as_list(claims.get(settings.OIDC_TEAM_CLAIM))}
    return {t for t in teams if t and t not in ROLE_GROUPS}


def username_from_claims(claims: dict) -> str:
    name = claims.get(settings.OIDC_USERNAME_CLAIM) or claims.get("sub") or ""
    return str(name).strip()[:150]
