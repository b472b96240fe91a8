from tests.oidc import provider, sso_sign_in  # noqa: F401 - fixtures
