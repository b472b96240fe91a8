"""Browser tests: headless Debian chromium driven by Playwright against `live_server`.

No browser is ever downloaded. Without /usr/bin/chromium (or $ATTEST_CHROMIUM) every
browser test is skipped with a reason that says how to install it, never passed.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ATTEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
PASSWORD = "pw-for-tests-1"  # make_user's default
TIMEOUT_MS = 15_000
# The README's screenshots are refreshed with ATTEST_UPDATE_SCREENSHOTS=1; ordinary runs
# write them to a scratch folder so the working tree stays clean.
SCREENSHOT_DIR = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("ATTEST_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "attest-screenshots"
)


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    found = shutil.which("chromium")
    if found and "ATTEST_CHROMIUM" not in os.environ:
        return found
    pytest.skip(
        f"BROWSER TESTS NOT RUN: no chromium at {CHROMIUM}. Install Debian's chromium with "
        "`apt-get install -y chromium` (or set ATTEST_CHROMIUM to its path). "
        "Never `playwright install`: these tests use the system browser only."
    )


@pytest.fixture(scope="module")
def browser():
    """One headless chromium per test module.

    Playwright's sync API keeps an asyncio event loop alive in this thread, and Django
    refuses ORM calls from a thread with a running loop. The tests and their fixtures use
    the ORM on purpose (setting up users, flushing the database), so the guard is lifted
    for exactly as long as the browser runs, and restored after.
    """
    executable = _chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.skip(
            "BROWSER TESTS NOT RUN: the playwright Python client is missing; "
            "`pip install -e .[dev]`."
        )
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) on the live server, failing on page errors."""
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form and wait for the landing page."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Signing in lands on the home dashboard; the journeys start from the model list.
    page.get_by_role("heading", name="Home").wait_for()
    page.goto("/models/")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")
