"""Issue 20: single sign-on in a real browser against a real OpenID provider on loopback:
the sign-in page's button, the provider's page, the callback, the roles from the
provider's groups, and signing out at the provider."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.oidc import provider  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def test_sign_in_and_out_through_the_identity_provider(page, provider, settings):  # noqa: F811
    settings.OIDC_PROVIDER_NAME = "Contoso SSO"
    provider.set_person(
        "u-77", preferred_username="priya", groups=["ml-approvers"], teams=["Fraud"]
    )
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with Contoso SSO").click()
    page.wait_for_url(f"{provider.url}/oauth2/authorize**")
    page.get_by_placeholder("sub").fill("u-77")
    page.get_by_role("button", name="Authorize").click()
    page.get_by_role("heading", name="Home").wait_for()  # signing in lands on the dashboard
    expect(page.locator(".who")).to_contain_text("priya")
    # An approver from the provider's group: the approvals queue is in the navigation.
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Approvals")
    user = get_user_model().objects.get(username="priya")
    assert set(user.groups.values_list("name", flat=True)) == {"Approvers", "Fraud"}

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{provider.url}/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url("**/accounts/login/")
    page.goto("/models/")
    page.wait_for_url("**/accounts/login/**")
