# ruff: noqa: F811  (the module-wide fixtures are imported, then named as arguments)
"""Forging an evidence bundle as an insider with the files and every hash function would:
each forgery of the red team, recomputing manifest.json and SHA256SUMS afterwards, fails
verify.py against the instance's key; an honest bundle zipped again with `zip -r`
verifies."""

import base64
import hashlib
import json
import shutil
import subprocess
import zipfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.governance.test_report_bundle import (  # noqa: F401  (module-wide fixtures)
    built,
    bundle_file,
    members,
    reseal,
    rewrite,
    run_verify,
)

# Every test needs the test database set up, for the module-wide `built` bundle.
pytestmark = pytest.mark.django_db

NOT_SIGNED = "FAILED: manifest.sig: not a signature of manifest.json by the trusted key"


def forge(bundle_file, tmp_path, edit) -> list[str]:
    """Apply `edit(files)` to the bundle's members, reseal it, and run the verifier."""
    files = members(bundle_file.read_bytes())
    edit(files)
    forged = rewrite(bundle_file, tmp_path / "forged.zip", reseal(files))
    result = run_verify(forged)
    assert result.returncode == 1, result.stdout
    return result.stdout.splitlines()


def _json_edit(name, change):
    def edit(files):
        data = json.loads(files[name])
        change(data)
        files[name] = json.dumps(data, indent=2).encode()

    return edit


def test_another_approver_in_approvals_json(bundle_file, tmp_path):
    def change(data):
        data["requests"][0]["decisions"][0]["approver"] = "someone-senior"

    assert forge(bundle_file, tmp_path, _json_edit("approvals.json", change)) == [NOT_SIGNED]


def test_another_artifact_hash(bundle_file, tmp_path):
    def change(data):
        data[0]["sha256"] = "0" * 64

    assert forge(bundle_file, tmp_path, _json_edit("artifacts.json", change)) == [NOT_SIGNED]


def test_a_rewritten_model_card(bundle_file, tmp_path):
    def edit(files):
        files["model-card/README.md"] += b"\nNo known limitations.\n"

    assert forge(bundle_file, tmp_path, edit) == [NOT_SIGNED]


def test_an_audit_event_with_its_own_hash_recomputed(bundle_file, tmp_path):
    def edit(files):
        lines = files["audit-events.jsonl"].decode().splitlines(keepends=True)
        row = json.loads(lines[0])
        row["actor_username"] = "someone-else"
        payload = {k: v for k, v in row.items() if k not in ("id", "hash")}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        row["hash"] = hashlib.sha256(canonical.encode()).hexdigest()
        lines[0] = json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n"
        files["audit-events.jsonl"] = "".join(lines).encode()

    problems = forge(bundle_file, tmp_path, edit)
    assert problems[0] == NOT_SIGNED
    assert problems[1].endswith("not in the signed audit log (its inclusion proof fails)")
    assert len(problems) == 2


def test_technical_documentation_with_its_digest_recomputed(bundle_file, tmp_path):
    def edit(files):
        doc = json.loads(files["technical-documentation.json"])
        doc["report"]["title"] += " (approved)"
        canonical = json.dumps(
            doc["report"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        doc["digest"] = hashlib.sha256(canonical.encode()).hexdigest()
        files["technical-documentation.json"] = json.dumps(doc).encode()

    assert forge(bundle_file, tmp_path, edit) == [
        NOT_SIGNED,
        "FAILED: technical-documentation.json: its digest is not the one manifest.json states",
    ]


def test_another_generated_by(bundle_file, tmp_path):
    def change(data):
        data["generated_by"] = "the-ceo"

    assert forge(bundle_file, tmp_path, _json_edit("manifest.json", change)) == [NOT_SIGNED]


def test_a_dropped_event_with_the_count_fixed(bundle_file, tmp_path):
    def edit(files):
        lines = files["audit-events.jsonl"].decode().splitlines(keepends=True)
        files["audit-events.jsonl"] = "".join(lines[1:]).encode()
        manifest = json.loads(files["manifest.json"])
        manifest["audit_events"] -= 1
        files["manifest.json"] = json.dumps(manifest).encode()

    assert forge(bundle_file, tmp_path, edit) == [NOT_SIGNED]


def test_a_wrong_event_count_is_named(bundle_file, tmp_path):
    def change(data):
        data["audit_events"] += 1

    problems = forge(bundle_file, tmp_path, _json_edit("manifest.json", change))
    assert problems[0] == NOT_SIGNED
    assert problems[1].startswith("FAILED: audit-events.jsonl: holds ")


def _resign_with(files, key):
    """A forger with a key of their own: re-sign the manifest and the tree head, and put
    their public key in the bundle."""
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(raw).hexdigest()[:16]
    manifest = json.loads(files["manifest.json"])
    head = manifest["audit_log"]["tree_head"]
    head["key_id"] = key_id
    statement = (
        f"attest audit log v1\nsize {head['tree_size']}\nroot {head['root_hash']}\n"
        f"time {head['signed_at']}\nkey {key_id}\n"
    ).encode()
    head["signature"] = base64.b64encode(key.sign(statement)).decode()
    manifest["generated_by"] = "the-ceo"
    files["signing-key.pem"] = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    files = reseal(dict(files, **{"manifest.json": json.dumps(manifest).encode()}))
    signature = base64.b64encode(key.sign(files["manifest.json"])).decode()
    files["manifest.sig"] = json.dumps({"key_id": key_id, "signature": signature}).encode()
    return reseal(files)


def test_a_bundle_re_signed_with_another_key_fails_the_pinned_fingerprint(
    bundle_file, tmp_path, settings
):
    files = _resign_with(members(bundle_file.read_bytes()), Ed25519PrivateKey.generate())
    forged = rewrite(bundle_file, tmp_path / "forged.zip", files)
    result = run_verify(forged)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "FAILED: signing-key.pem: its fingerprint is not the one given (not the instance key)"
    ]
    # With the instance's key given as a file, both signatures fail.
    from governance import signing

    key_file = tmp_path / "instance.pem"
    key_file.write_text(signing.public_keys()[0].pem)
    result = run_verify(forged, trust=["--key", str(key_file)])
    assert result.stdout.splitlines() == [
        NOT_SIGNED,
        "FAILED: manifest.json: the audit log's tree head is not signed by the trusted key",
    ]


def test_an_honest_bundle_zipped_again_with_zip_r_verifies(bundle_file, tmp_path):
    if shutil.which("zip") is None:
        pytest.skip("zip (Info-ZIP) is not installed: apt-get install zip")
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(bundle_file) as z:
        z.extractall(folder)
    again = tmp_path / "again.zip"
    subprocess.run(["zip", "-qr", str(again), "."], cwd=folder, check=True)
    with zipfile.ZipFile(again) as z:
        assert "model-card/" in z.namelist()  # the directory entry that used to fail
    result = run_verify(again)
    assert result.returncode == 0, result.stdout
