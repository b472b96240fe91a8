"""Issue 20: an approver's first sign-in in a real browser: the password, the enrolment
page's key read off the page, a TOTP code computed from it, the recovery codes, and the
next sign-in with one of those codes."""

import base64

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from governance import access
from tests.browser.conftest import PASSWORD, sign_out
from tests.factories import make_user

pytestmark = pytest.mark.browser


def _code(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key).token():06d}"


def test_an_approver_enrols_and_signs_in_with_a_recovery_code(page, settings):
    settings.ATTEST_2FA_REQUIRED_ROLES = ["Approvers"]
    make_user("avery", access.ROLE_APPROVERS)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("avery")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/two-factor/enrol/**")
    expect(page.get_by_role("img", name="QR code for the authenticator app")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("Code").fill(_code(secret))
    page.get_by_role("button", name="Turn on two-factor").click()
    codes = page.get_by_test_id("recovery-codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them, continue").click()
    page.get_by_role("heading", name="Home").wait_for()  # signing in lands on the dashboard
    sign_out(page)

    page.get_by_label("Username").fill("avery")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/two-factor/verify/**")
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Home").wait_for()  # signing in lands on the dashboard
    expect(page.locator(".who")).to_contain_text("avery")
