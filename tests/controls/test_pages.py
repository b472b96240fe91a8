"""The readiness pages and exports, the evidence bundle's section and the demo's readiness."""

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.urls import reverse

from controls import services
from controls.models import Snapshot
from governance.models import AuditEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_the_framework_page_shows_status_evidence_and_gaps(system, scientist, controls):
    art12 = controls["eu-ai-act Art. 12"]
    services.manual_evidence_add(
        actor=scientist,
        system=system,
        control=art12,
        kind="document",
        data={"title": "Logging design", "review_on": date.today() + timedelta(days=5)},
    )
    page = client_for(scientist).get(
        reverse("controls:system-framework", args=[system.pk, "eu-ai-act"])
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="control-{art12.pk}" data-status="met"' in html
    assert "Logging design" in html
    art9 = controls["eu-ai-act Art. 9"]
    assert f'id="control-{art9.pk}" data-status="not_met"' in html
    assert "the risk register is empty" in html and "owner dana" in html


def test_the_exports_agree_with_the_page_and_are_audited(system, scientist, controls):
    client = client_for(scientist)
    url = reverse("controls:system-export", args=[system.pk, "nist-ai-rmf", "json"])
    body = json.loads(client.get(url).content)
    assert body["framework"]["key"] == "nist-ai-rmf" and len(body["controls"]) == 72
    assert sum(body["counts"].values()) == 72
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    reverse("controls:system-export", args=[system.pk, "nist-ai-rmf", "csv"])
                ).content.decode()
            )
        )
    )
    assert [r["ref"] for r in rows] == [c["ref"] for c in body["controls"]]
    assert AuditEvent.objects.filter(action="controls.export").count() == 2


def test_a_snapshot_adds_a_point_to_the_trend(system, scientist, controls):
    client = client_for(scientist)
    client.post(reverse("controls:snapshot-create", args=[system.pk, "iso-42001"]))
    snap = Snapshot.objects.get()
    assert sum(snap.counts.values()) == 38
    page = client.get(reverse("controls:system-readiness", args=[system.pk])).content.decode()
    assert 'id="framework-iso-42001"' in page and "none yet" in page  # others have no point


def test_the_bundle_section(system, scientist, version, controls):
    from controls.reports import bundle_members

    [(path, data)] = bundle_members(user=scientist, version=version)
    body = json.loads(data)
    assert path == "readiness.json" and body[0]["system"] == system.name
    assert {f["key"] for f in body[0]["frameworks"]} == {
        "eu-ai-act",
        "nist-ai-rmf",
        "iso-42001",
        "sr-11-7",
    }


def test_someone_without_the_model_sees_no_readiness(system, other_scientist, controls):
    client = client_for(other_scientist)
    assert client.get(reverse("controls:system-readiness", args=[system.pk])).status_code == 404


def test_the_pdf_export_is_signed(system, scientist, controls, settings, tmp_path):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    settings.VAR_DIR = tmp_path
    settings.ATTEST_SIGNING_KEY_FILE = ""
    settings.ATTEST_SIGNING_CERT_FILE = ""
    url = reverse("controls:system-export", args=[system.pk, "sr-11-7", "pdf"])
    response = client_for(scientist).get(url)
    assert response["Content-Type"] == "application/pdf"
    reader = PdfFileReader(io.BytesIO(response.content))
    (signature,) = reader.embedded_signatures
    status = validate_pdf_signature(signature)
    assert status.intact  # the bytes served are the bytes the instance key signed
