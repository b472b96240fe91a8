"""A real OpenID provider on loopback (oidc-provider-mock: Authlib's authorization server
with discovery, signed ID tokens, JWKS, userinfo and end-session), started per test.
Used by tests/identity and tests/browser (import the fixtures into the test module)."""

import copy
from urllib.parse import urlsplit

import pytest
import requests

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")

ROLE_MAP = {"ml-scientists": "Data scientists", "ml-approvers": "Approvers", "grc": "Compliance"}


class Provider:
    def __init__(self, url: str):
        self.url = url

    def set_person(self, sub: str, **claims) -> None:
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        response.raise_for_status()

    def authorize(self, authorize_url: str, sub: str) -> str:
        """The person signs in at the provider: the form post answers with a redirect
        back to Attest's callback, which is returned (as a path with its query)."""
        response = requests.post(
            authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10
        )
        assert response.status_code == 302, response.text
        back = urlsplit(response.headers["Location"])
        return f"{back.path}?{back.query}"


@pytest.fixture
def provider(settings):
    from identity import oidc

    with oidc_provider_mock.run_server_in_thread(port=0) as server:
        url = f"http://localhost:{server.server_port}"
        settings.OIDC_ISSUER = url
        settings.OIDC_RP_CLIENT_ID = "attest"
        settings.OIDC_RP_CLIENT_SECRET = "attest-secret"
        settings.OIDC_ROLE_MAP = dict(ROLE_MAP)
        settings.OIDC_TEAM_CLAIM = "teams"
        policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
        policy["DIRECTIVES"]["form-action"].append(url)  # as settings.py does for the issuer
        settings.CONTENT_SECURITY_POLICY = policy
        oidc.forget_provider_config()
        yield Provider(url)
        oidc.forget_provider_config()


@pytest.fixture
def sso_sign_in(provider):
    """Sign `sub` in through the provider with a Django test client; returns the
    callback's response (the client is signed in when it redirects onwards)."""

    def sign_in(client, sub: str, next_url: str = ""):
        start = client.get("/accounts/sso/start/" + (f"?next={next_url}" if next_url else ""))
        assert start.status_code == 302, start.content
        assert start["Location"].startswith(provider.url)
        return client.get(provider.authorize(start["Location"], sub))

    return sign_in
