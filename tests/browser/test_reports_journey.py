"""An auditor generates a version's technical documentation from the version page,
watches its progress on the report page, and downloads the PDF."""

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from config.celery import app
from governance import access
from governance.models import AuditEvent, Report
from governance.report_tasks import generate_report
from tests.browser.conftest import sign_in
from tests.factories import make_model, make_team, make_user, make_version
from tests.stack import STACK_ENABLED

pytestmark = pytest.mark.browser


def test_auditor_generates_technical_documentation_and_downloads_the_pdf(page, live_server):
    team = make_team("Fraud analytics")
    dana = make_user("dana", access.ROLE_DATA_SCIENTISTS, "Fraud analytics")
    model = make_model(dana, name="fraud-detector", team=team)
    version = make_version(dana, model)
    make_user("ada", access.ROLE_AUDITORS)

    sign_in(page, "ada")
    page.goto(f"/models/{model.name}/versions/{version.version}/")
    eager = app.conf.task_always_eager
    if not STACK_ENABLED:
        # In process, the task would run inside the request; hold it back so the page's
        # progress can be seen, then run it the way a worker would.
        app.conf.task_always_eager = False
    try:
        panel = page.locator("#compliance")
        panel.get_by_label("Format").select_option("pdf")
        panel.get_by_role("button", name="Generate technical documentation").click()
        page.wait_for_url(re.compile(r"/reports/\d+/$"))
        report = Report.objects.get()
        status = page.locator("#report-status")
        if not STACK_ENABLED:
            expect(status).to_contain_text("Queued")
            expect(status.get_by_role("progressbar", name="Generation progress")).to_be_visible()
            generate_report.apply(args=[report.job_id])
    finally:
        app.conf.task_always_eager = eager
    # The page polls: it turns to Ready by itself, with the download and the hashes.
    expect(status).to_contain_text("Ready", timeout=60_000)
    report.refresh_from_db()
    expect(status).to_contain_text(report.sha256)
    with page.expect_download() as download_info:
        status.get_by_role("link", name=re.compile("^Download PDF")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    content = Path(download.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "Technical documentation" in text and "fraud-detector" in text
    assert AuditEvent.objects.filter(action="report.download", target_id=str(report.pk)).exists()
    # It is listed on the Reports page with its checksum and keep-until date.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    row = page.locator(f"#report-{report.pk}")
    expect(row).to_contain_text("Ready")
    expect(row).to_contain_text(report.sha256[:12])
    expect(row).to_contain_text(f"{report.keep_until:%Y-%m-%d}")
