"""The technical documentation as a PDF (WeasyPrint), read back with pypdf: no "None"
printed for a missing or empty value, the footer's time without microseconds, every page
portrait, the artifact hashes inside the page, and no item heading left at the foot of a
page apart from its content."""

import io
import re

import pytest
from django.utils import timezone
from pypdf import PdfReader

from governance.reports import techdoc
from governance.reports.render import render
from governance.reports.scope import ReportScope
from governance.services import version_archive
from tests.factories import make_version

ITEM_HEADING = re.compile(r"^(\d\.\d+) [A-Z]")


@pytest.fixture
def pdf(scientist, model):
    first = make_version(scientist, model)
    # Archiving v1 gives the document its eight-column table of stage changes, the kind
    # that used to switch to a landscape page.
    version_archive(actor=scientist, version=first, reason="Superseded")
    make_version(scientist, model)  # v2, no stage: "the previous version is v2 (...)"
    files = {f"weights/part-{n:02d}-of-a-long-shard-name.bin": bytes([n]) * 64 for n in range(6)}
    version = make_version(scientist, model, files=files)
    doc = techdoc.build(
        user=scientist,
        scope=ReportScope(version=version),
        progress=lambda *args: None,
        now=timezone.now(),
    )
    hashes = list(version.artifacts.values_list("sha256", flat=True))
    return doc, PdfReader(io.BytesIO(render(doc, "pdf").content)), hashes


def page_texts(reader) -> list[str]:
    return [page.extract_text() or "" for page in reader.pages]


def test_no_none_and_the_stage_in_words(pdf):
    _, reader, _ = pdf
    text = "\n".join(page_texts(reader))
    assert not re.search(r"\bNone\b", text), [
        line for line in text.splitlines() if re.search(r"\bNone\b", line)
    ]
    assert "the previous version is v2 (no stage)" in " ".join(text.split())


def test_the_footer_time_has_no_microseconds(pdf):
    _, reader, _ = pdf
    for text in page_texts(reader):
        flat = " ".join(text.split())
        assert re.search(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d (UTC|[+-]\d\d:\d\d) by", flat)
        assert not re.search(r"\d\d:\d\d:\d\d\.\d", flat)


def test_every_page_is_portrait_and_the_hashes_stay_inside_it(pdf):
    _, reader, hashes = pdf
    for page in reader.pages:
        box = page.mediabox
        assert float(box.height) > float(box.width)  # no landscape page mid-document
        width = float(box.width)
        starts = []

        def visit(text, cm, tm, font, size, starts=starts):
            if text.strip():
                starts.append(tm[4] * cm[0] + cm[4])

        page.extract_text(visitor_text=visit)
        assert all(0 <= x < width - 30 for x in starts), max(starts)
    printed = "".join("".join(page_texts(reader)).split())
    assert len(hashes) == 6
    for sha in hashes:
        assert sha in printed  # whole, if wrapped inside its cell


def test_no_item_heading_is_the_last_line_of_a_page(pdf):
    _, reader, _ = pdf
    texts = page_texts(reader)
    for number, text in enumerate(texts[2:], start=3):  # after the cover and contents
        lines = [ln for ln in text.splitlines() if ln.strip()]
        body = [ln for ln in lines if not ln.startswith(("Generated ", "Page ", "Technical"))]
        assert body, number
        assert not ITEM_HEADING.match(body[-1]), f"page {number} ends with {body[-1]!r}"
