"""The registers in governance's reports: a section of the audit report and a signed
member of the evidence bundle, read through restrict() like the rest of each report."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from aisystems.registers.services import entry_create, observation_record
from aisystems.registers.specs import BY_KIND
from aisystems.services import system_create
from governance import signing
from governance.reports import audit_report
from governance.reports import bundle as evidence
from governance.reports.scope import ReportScope
from governance.reports.verify import verify
from tests.aisystems.conftest import system_data
from tests.factories import make_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def registers(system, scientist, version):
    now = timezone.now()
    entry_create(
        actor=scientist,
        spec=BY_KIND["incidents"],
        system=system,
        data={
            "title": "Refusals",
            "description": "d",
            "category": "death",
            "occurred_at": now - timedelta(days=2),
            "aware_at": now - timedelta(days=1),
        },
    )
    metric = entry_create(
        actor=scientist,
        spec=BY_KIND["monitoring"],
        system=system,
        data={"title": "Gap", "plan": "Weekly", "metric_key": "gap", "upper_threshold": 0.05},
    )
    observation_record(actor=scientist, metric=metric, value=0.2, model_version=version)
    return system


def _build(user, **scope):
    today = timezone.localdate()
    return audit_report.build(
        user=user,
        scope=ReportScope(period_start=today, period_end=today, **scope),
        progress=lambda p, m: None,
        now=timezone.now(),
    )


def _section(doc):
    return next(s for s in doc.as_dict()["sections"] if s["key"] == "ai_systems")


def _rows(section, key):
    item = next(i for i in section["items"] if i["key"] == key)
    tables = [b for b in item["blocks"] if b["type"] == "table"]
    return tables[0]["rows"] if tables else []


def test_the_audit_report_has_the_registers(registers, auditor):
    doc = _build(auditor)
    section = _section(doc)
    assert [r[0] for r in _rows(section, "systems")] == ["credit-decisions"]
    assert [r[1] for r in _rows(section, "incidents")] == ["Refusals"]
    # The review the breach opened is in the risk register's rows.
    assert _rows(section, "risks")[0][1].startswith("Review: Gap = 0.2")
    deadline = _rows(section, "incident_deadlines")[0]
    assert deadline[4] == "not sent" and deadline[6] == "yes"  # 10 days, 1 day in
    assert _rows(section, "monitoring_breaches")[0][2] == 0.2
    assert [r for r in doc.csv_rows if r[0] == "ai_systems"]
    # Sections keep their order: the chain's verification stays last.
    assert doc.as_dict()["sections"][-1]["key"] == "audit_chain"


def test_the_audit_report_keeps_to_its_scope_and_the_readers_grants(
    registers, auditor, other_scientist, scientist
):
    other = make_model(other_scientist, name="other-model")
    section = _section(_build(auditor, model=other))
    assert _rows(section, "systems") == [] and _rows(section, "incidents") == []
    # Someone who cannot see the system's model reads none of its registers.
    section = _section(_build(other_scientist))
    assert _rows(section, "systems") == [] and _rows(section, "risks") == []


def _bundle(user, version) -> dict:
    out = io.BytesIO()
    evidence.write(
        user=user,
        scope=ReportScope(model=version.registered_model, version=version),
        fmt="zip",
        progress=lambda p, m: None,
        out=out,
        now=timezone.now(),
    )
    return out.getvalue()


def test_the_bundle_carries_the_systems_registers_signed(registers, auditor, version, tmp_path):
    content = _bundle(auditor, version)
    path = tmp_path / "bundle.zip"
    path.write_bytes(content)
    with zipfile.ZipFile(path) as z:
        data = json.loads(z.read("ai-systems.json"))
        manifest = json.loads(z.read("manifest.json"))
    (system,) = data["ai_systems"]
    assert system["name"] == "credit-decisions"
    assert [e["title"] for e in system["registers"]["incidents"]] == ["Refusals"]
    assert system["observations_of_this_version"][0]["breach"] is True
    assert {p["point"] for p in system["annex_iv"]["points"]} >= {"1(a)", "5", "9"}
    assert "ai-systems.json" in {f["path"] for f in manifest["files"]}
    problems, _count = verify(
        str(path), fingerprint=signing.fingerprint(signing.public_keys()[0].key)
    )
    assert problems == []


def test_no_system_no_file(scientist, auditor, team):
    from tests.factories import make_version

    alone = make_version(scientist, make_model(scientist, name="alone", team=team))
    system_create(actor=scientist, data=system_data(name="empty"))
    with zipfile.ZipFile(io.BytesIO(_bundle(auditor, alone))) as z:
        assert "ai-systems.json" not in z.namelist()
