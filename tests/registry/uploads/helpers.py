"""What the upload tests read from a response, and the check that a failed upload left nothing
behind.
"""

import html
import re

from tests.registry.conftest import NOTHING, row_counts, stored_files

# --- helpers -----------------------------------------------------------------------------


def page(response) -> str:
    return html.unescape(response.content.decode())


def field_errors(response, field: str) -> list[str]:
    """The error texts the form shows under one field (by its html name)."""
    match = re.search(
        rf'<div class="field-errors"[^>]* data-field="{re.escape(field)}"[^>]*>(.*?)</div>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no error block for {field}"
    return [html.unescape(e) for e in re.findall(r'<p class="error">(.*?)</p>', match.group(1))]


def form_errors(response) -> list[str]:
    """The errors shown at the top of the form (not tied to one field)."""
    match = re.search(r'<div class="form-errors"(.*?)<section', page_raw(response), re.S)
    assert match, "no form-errors block"
    return [html.unescape(e) for e in re.findall(r"<p>(.*?)</p>", match.group(1), re.S)]


def page_raw(response) -> str:
    return response.content.decode()


def assert_no_version_folders(artifact_root):
    """A failed upload leaves no (empty) folder for the version it did not create."""
    assert list(artifact_root.glob("artifacts/*/*")) == []


def assert_nothing_kept(model, artifact_root, upload_tmp, audit_count):
    assert row_counts(model) == NOTHING
    assert stored_files(artifact_root) == []
    assert_no_version_folders(artifact_root)
    assert list(upload_tmp.iterdir()) == [], "a spooled upload was left behind"
    assert audit_count() == 0
