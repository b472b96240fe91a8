"""The evidence bundle (governance/reports/bundle.py) and its offline verifier
(governance/reports/verify.py): the files it holds, their hashes, and that any change to
the bundle is caught by the verifier and by `sha256sum -c`."""

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from pypdf import PdfReader

from governance import access, audit, audit_log
from governance.models import ComplianceDocument, Report
from governance.reports import bundle as evidence
from governance.reports.scope import ReportScope
from governance.services import decision_record, model_risk_class_set, transition_request_open
from governance.services.compliance import compliance_document_upload
from registry.models import Artifact
from registry.services.cards import card_save
from tests.conftest import client_for, download_status, downloaded_bytes, wait_for_job
from tests.factories import make_model, make_team, make_user, make_version

# Every test needs the test database set up, for the module-wide `built` bundle.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
VERIFY = ROOT / "governance" / "reports" / "verify.py"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
FILES = {
    "technical-documentation.pdf",
    "technical-documentation.json",
    "model-card/README.md",
    "audit-events.jsonl",
    "approvals.json",
    "artifacts.json",
    "access-reviews.json",
    "declaration-of-conformity.pdf",
    "audit-proofs.jsonl",
    "signing-key.pem",
    "manifest.json",
    "manifest.sig",
    "SHA256SUMS",
}


def write_bundle(user, version, calls=None) -> tuple[bytes, str]:
    out = io.BytesIO()
    digest = evidence.write(
        user=user,
        scope=ReportScope(model=version.registered_model, version=version),
        fmt="zip",
        progress=lambda p, m: calls.append((p, m)) if calls is not None else None,
        out=out,
        now=timezone.now(),
    )
    return out.getvalue(), digest


def approve(scientist, approver, version, reason):
    request = transition_request_open(
        actor=scientist, version=version, target_stage="Production", justification=reason
    )
    decision_record(actor=approver, request=request, outcome="approve", reason=f"OK: {reason}")
    return request


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """v1 of a model: approved to Production, then archived when v2 was approved, with a
    card and the declaration of conformity. Built (and its PDF rendered) once for the
    module, inside a transaction that is rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        scientist = make_user("dana", access.ROLE_DATA_SCIENTISTS, "Fraud analytics")
        approver = make_user("avery", access.ROLE_APPROVERS)
        viewer = make_user("vic", access.ROLE_DATA_SCIENTISTS)
        model = make_model(scientist, name="fraud-detector", team=make_team("Fraud analytics"))
        access.grant(model, "approve", user=approver)
        access.grant(model, "view", user=viewer)
        model_risk_class_set(
            actor=scientist, registered_model=model, risk_class="limited", rationale="Internal"
        )
        v1 = make_version(scientist, model)
        card_save(
            actor=scientist,
            version=v1,
            sections={"intended_use": "Flags card transactions for review — «beta»."},
        )
        Artifact.objects.filter(model_version=v1).update(scan_status="clean")
        request = approve(scientist, approver, v1, "first release")
        compliance_document_upload(
            actor=scientist,
            model_version=v1,
            kind=ComplianceDocument.Kind.DECLARATION_OF_CONFORMITY,
            upload=SimpleUploadedFile("Declaration.pdf", PDF, content_type="application/pdf"),
        )
        v2 = make_version(scientist, model)
        Artifact.objects.filter(model_version=v2).update(scan_status="clean")
        approve(scientist, approver, v2, "better recall")
        v1.refresh_from_db()
        assert v1.stage == "Archived"
        calls = []
        content, digest = write_bundle(viewer, v1, calls)
        own_events = list(audit_log.model_events(model).filter(model_version_id=v1.pk))
        archived_by = audit_log.model_events(model).get(
            action="transition.approve", model_version_id=v2.pk
        )
        facts = {
            "content": content,
            "digest": digest,
            "calls": calls,
            "event_ids": [e.pk for e in own_events] + [archived_by.pk],
            "request": request.pk,
            "artifact": Artifact.objects.filter(model_version=v1).values().get(),
        }
        transaction.set_rollback(True)
    return facts


@pytest.fixture
def bundle_file(built, tmp_path) -> Path:
    path = tmp_path / "bundle.zip"
    path.write_bytes(built["content"])
    return path


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return {name: z.read(name) for name in z.namelist()}


def rewrite(source: Path, target: Path, changes: dict[str, bytes]) -> Path:
    """A copy of the bundle with some members' bytes replaced."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            z.writestr(info, changes.get(info.filename, zin.read(info)))
    return target


def reseal(files: dict[str, bytes]) -> dict[str, bytes]:
    """What a forger who knows the format would do: fix manifest.json and SHA256SUMS."""
    manifest = json.loads(files["manifest.json"])
    for entry in manifest["files"]:
        entry["size"] = len(files[entry["path"]])
        entry["sha256"] = hashlib.sha256(files[entry["path"]]).hexdigest()
    files = dict(files, **{"manifest.json": json.dumps(manifest).encode()})
    sums = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        for name, data in files.items()
        if name != "SHA256SUMS"
    )
    return dict(files, SHA256SUMS=sums.encode())


def instance_fingerprint() -> str:
    from governance import signing

    return signing.fingerprint(signing.public_keys()[0].key)


def run_verify(path: Path, *, module: bool = False, trust=None) -> subprocess.CompletedProcess:
    """verify.py as a reviewer runs it, trusting the instance's key by its fingerprint."""
    trust = trust or ["--fingerprint", instance_fingerprint()]
    if module:
        command = [sys.executable, "-m", "governance.reports.verify", str(path), *trust]
    else:  # a lone copy of the file, isolated from this project (cryptography installed)
        copy = Path(tempfile.mkdtemp()) / "verify.py"
        shutil.copy(VERIFY, copy)
        command = [sys.executable, "-I", str(copy), str(path), *trust]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)


def sha256sum_check(content: bytes, tmp_path: Path) -> subprocess.CompletedProcess:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (coreutils) is not installed")
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        z.extractall(folder)
    return subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], capture_output=True, text=True, cwd=folder, timeout=60
    )


# --- What the bundle holds --------------------------------------------------------------


def test_the_bundle_holds_the_expected_files(built):
    files = members(built["content"])
    assert set(files) == FILES
    manifest = json.loads(files["manifest.json"])
    assert manifest["format"] == "attest-evidence-bundle" and manifest["format_version"] == 1
    assert manifest["generated_by"] == "vic"
    assert manifest["subject"]["model"] == "fraud-detector" and manifest["subject"]["version"] == 1
    assert {f["path"] for f in manifest["files"]} == FILES - {
        "manifest.json",
        "manifest.sig",
        "SHA256SUMS",
    }
    # Every manifest entry matches its file; SHA256SUMS covers the manifest as well.
    for entry in manifest["files"]:
        data = files[entry["path"]]
        assert entry["size"] == len(data), entry["path"]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["path"]
    sums = dict(reversed(line.split("  ", 1)) for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == FILES - {"SHA256SUMS"}
    assert sums["manifest.json"] == hashlib.sha256(files["manifest.json"]).hexdigest()

    techdoc = json.loads(files["technical-documentation.json"])
    assert techdoc["digest"] == built["digest"] == manifest["technical_documentation_digest"]
    assert techdoc["report"]["kind"] == "technical_documentation"
    assert files["declaration-of-conformity.pdf"] == PDF
    assert (
        manifest["declaration_of_conformity"]["recorded_sha256"] == hashlib.sha256(PDF).hexdigest()
    )
    readme = files["model-card/README.md"].decode()
    assert readme.startswith("---\n") and "# fraud-detector v1" in readme
    assert "Flags card transactions for review — «beta»." in readme

    (artifact,) = json.loads(files["artifacts.json"])
    expected = built["artifact"]
    assert artifact["path"] == expected["path"] == "model.json"
    assert artifact["size"] == expected["size"] and artifact["sha256"] == expected["sha256"]
    assert artifact["scan_status"] == "clean"

    approvals = json.loads(files["approvals.json"])
    (request,) = approvals["requests"]
    assert request["id"] == built["request"] and request["status"] == "approved"
    assert request["requested_by"] == "dana" and request["justification"] == "first release"
    assert request["policy"]["required_approvals"] >= 1 and request["gates_required"]
    (decision,) = request["decisions"]
    assert decision["approver"] == "avery" and decision["outcome"] == "approve"
    assert decision["reason"] == "OK: first release" and decision["decided_at"]
    assert isinstance(decision["approver_groups"], list)
    assert [g["stage"] for g in approvals["gates_at_generation"]] == ["Staging", "Production"]


def test_audit_events_of_the_version_in_chain_order_with_their_hashes(built):
    lines = members(built["content"])["audit-events.jsonl"].decode().splitlines()
    rows = [json.loads(line) for line in lines]
    # The version's own events and the approval of v2 that archived it, in id order.
    assert [r["id"] for r in rows] == sorted(built["event_ids"])
    assert {r["model_version_id"] for r in rows[:-1]} == {rows[0]["model_version_id"]}
    assert rows[-1]["action"] == "transition.approve"
    assert rows[-1]["after"]["stage_change"]["archived"] == [1]
    actions = {r["action"] for r in rows}
    assert {"version.create", "transition.request", "compliance.upload"} <= actions
    for row in rows:
        assert len(row["prev_hash"]) == 64
        payload = {k: v for k, v in row.items() if k not in ("id", "hash")}
        assert hashlib.sha256(audit.canonical_json(payload).encode()).hexdigest() == row["hash"]
    assert json.loads(members(built["content"])["manifest.json"])["audit_events"] == len(rows)


def test_the_technical_documentation_pdf_is_a_real_pdf(built):
    content = members(built["content"])["technical-documentation.pdf"]
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages).lower()
    for heading in (
        "technical documentation",
        "general description",
        "changes through the lifecycle",
        "declaration of conformity",
        "post-market monitoring",
    ):
        assert heading in text, heading
    assert built["digest"] in text.replace("\n", "")


def test_progress_is_reported_in_order(built):
    percents = [p for p, _ in built["calls"]]
    assert percents == sorted(percents) and percents[-1] == 100 and len(percents) >= 6


# --- Verifying it -------------------------------------------------------------------------


def test_verifier_passes_on_the_genuine_bundle(bundle_file, tmp_path):
    result = run_verify(bundle_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"OK: {len(FILES) - 1} files verified, signed by key")
    result = run_verify(bundle_file, module=True)
    assert result.returncode == 0 and result.stdout.startswith("OK:"), result.stdout
    assert sha256sum_check(bundle_file.read_bytes(), tmp_path).returncode == 0


def test_verifier_needs_only_the_standard_library_and_cryptography():
    source = VERIFY.read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    modules = {line.split()[1].split(".")[0] for line in imports}
    assert modules <= {"argparse", "base64", "hashlib", "json", "sys", "zipfile", "cryptography"}


def test_a_changed_file_fails_the_verifier_and_sha256sum(bundle_file, tmp_path):
    approvals = json.loads(members(bundle_file.read_bytes())["approvals.json"])
    approvals["requests"][0]["decisions"][0]["reason"] = "Looks fine to me"
    forged = json.dumps(approvals, indent=2).encode()
    changed = rewrite(bundle_file, tmp_path / "changed.zip", {"approvals.json": forged})
    result = run_verify(changed)
    assert result.returncode == 1
    problems = result.stdout.splitlines()
    assert problems and all(line.startswith("FAILED: approvals.json:") for line in problems)
    check = sha256sum_check(changed.read_bytes(), tmp_path)
    assert check.returncode == 1 and "approvals.json: FAILED" in check.stdout


def test_an_added_file_fails_the_verifier(bundle_file, tmp_path):
    added = tmp_path / "added.zip"
    shutil.copy(bundle_file, added)
    with zipfile.ZipFile(added, "a") as z:
        z.writestr("extra.txt", b"not evidence")
    result = run_verify(added)
    assert (
        result.returncode == 1 and "FAILED: extra.txt: not listed in manifest.json" in result.stdout
    )


def test_an_altered_audit_event_fails_even_with_the_checksums_redone(bundle_file, tmp_path):
    files = members(bundle_file.read_bytes())
    lines = files["audit-events.jsonl"].decode().splitlines(keepends=True)
    row = json.loads(lines[1])
    row["actor_username"] = "someone-else"
    lines[1] = json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n"
    events = "".join(lines).encode()

    plain = rewrite(bundle_file, tmp_path / "plain.zip", {"audit-events.jsonl": events})
    result = run_verify(plain)
    assert result.returncode == 1 and "FAILED: audit-events.jsonl:" in result.stdout
    assert f"audit-events.jsonl line 2 (event {row['id']})" in result.stdout
    assert sha256sum_check(plain.read_bytes(), tmp_path).returncode == 1

    resealed = reseal(dict(files, **{"audit-events.jsonl": events}))
    forged = rewrite(bundle_file, tmp_path / "forged.zip", resealed)
    result = run_verify(forged)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "FAILED: manifest.sig: not a signature of manifest.json by the trusted key",
        f"FAILED: audit-events.jsonl line 2 (event {row['id']}): "
        "its content does not match its hash",
    ]


def test_an_edited_technical_documentation_fails_even_with_the_checksums_redone(
    bundle_file, tmp_path
):
    files = members(bundle_file.read_bytes())
    techdoc = json.loads(files["technical-documentation.json"])
    techdoc["report"]["title"] += " (approved)"
    files["technical-documentation.json"] = json.dumps(techdoc).encode()
    forged = rewrite(bundle_file, tmp_path / "forged.zip", reseal(files))
    result = run_verify(forged)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "FAILED: manifest.sig: not a signature of manifest.json by the trusted key",
        "FAILED: technical-documentation.json: the report does not match its digest",
    ]


def test_not_a_bundle(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    result = run_verify(junk)
    assert result.returncode == 1 and result.stdout.startswith("FAILED:")
    assert run_verify(tmp_path).returncode == 1  # a directory
    assert subprocess.run([sys.executable, str(VERIFY)], capture_output=True).returncode == 2
    # No trusted key: a usage error, since a forger can recompute every hash.
    no_key = subprocess.run([sys.executable, str(VERIFY), str(junk)], capture_output=True)
    assert no_key.returncode == 2


# --- Without a declaration, and through the report pipeline --------------------------------


def test_a_version_without_declaration_or_requests(scientist, version, tmp_path):
    content, _ = write_bundle(scientist, version)
    files = members(content)
    assert set(files) == FILES - {"declaration-of-conformity.pdf"}
    manifest = json.loads(files["manifest.json"])
    assert manifest["declaration_of_conformity"] is None
    assert json.loads(files["approvals.json"])["requests"] == []
    path = tmp_path / "bundle.zip"
    path.write_bytes(content)
    result = run_verify(path)
    assert result.returncode == 0, result.stdout


def test_a_declaration_changed_in_storage_is_flagged(scientist, version, tmp_path):
    from registry.storage import local_path_or_none

    document = compliance_document_upload(
        actor=scientist,
        model_version=version,
        kind=ComplianceDocument.Kind.DECLARATION_OF_CONFORMITY,
        upload=SimpleUploadedFile("Declaration.pdf", PDF, content_type="application/pdf"),
    )
    stored = local_path_or_none(document.storage_name)
    if stored is None:
        pytest.skip("needs local file storage to change the stored file behind Attest's back")
    Path(stored).write_bytes(PDF.replace(b"1.7", b"1.4"))
    path = tmp_path / "bundle.zip"
    path.write_bytes(write_bundle(scientist, version)[0])
    result = run_verify(path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "FAILED: declaration-of-conformity.pdf: differs from the declaration recorded at upload"
    ]


def test_bundle_through_the_report_pipeline(viewer, version, django_capture_on_commit_callbacks):
    from django.urls import reverse

    client = client_for(viewer)
    data = {
        "kind": "evidence_bundle",
        "format": "zip",
        "model": version.registered_model.name,
        "version": version.version,
    }
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("governance:report-create"), data)
    report = Report.objects.get()
    wait_for_job(report.job_id)
    report.refresh_from_db()
    assert report.status == Report.Status.READY, report.message
    assert report.filename.endswith(".zip")
    response = client.get(reverse("governance:report-download", args=[report.pk]))
    assert response.status_code == download_status()
    content = downloaded_bytes(response)
    assert hashlib.sha256(content).hexdigest() == report.sha256
    manifest = json.loads(members(content)["manifest.json"])
    assert manifest["technical_documentation_digest"] == report.digest
    events = members(content)["audit-events.jsonl"].decode().splitlines()
    assert json.loads(events[-1])["action"] == "report.request"  # asked for, not yet ready
