"""Audit exports carry the proof that their events are in a signed tree head: a Merkle
range proof for an export of consecutive events, inclusion proofs for a filtered one. The
offline snippet of docs/audit.md checks both, and the head's signature, against a real
export and against the insider's forgery (an event changed, re-hashed, the chain relinked)."""

import hashlib
import json

import pytest
from django.urls import reverse

from governance import audit, merkle
from governance.models import AuditEvent
from tests.conftest import client_for
from tests.governance.test_exports import (  # noqa: F401 (trail is a fixture)
    body,
    export_url,
    run_docs_snippet,
    trail,
)
from tests.matrix import LOGIN, check_matrix

PROOF_URL = reverse("governance:audit-export-proof")
pytestmark = pytest.mark.usefixtures("trail")


def download(client, **filters):
    response = client.get(export_url("jsonl"), filters)
    content = body(response)
    proof = client.get(PROOF_URL, {"export": response["X-Audit-Export-Event"]})
    assert proof.status_code == 200, proof.content
    expected = f"{PROOF_URL}?export={response['X-Audit-Export-Event']}"
    assert response["X-Audit-Export-Proof"] == expected
    return content, proof.json()


@pytest.fixture
def keys_json(client):
    return client.get("/.well-known/attest-signing-keys.json").content


def run(tmp_path, content, proof, keys, *args):
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "keys.json").write_bytes(keys)
    return run_docs_snippet(
        tmp_path,
        content,
        *args,
        "--proof",
        str(tmp_path / "proof.json"),
        "--keys",
        str(tmp_path / "keys.json"),
    )


def relinked(lines: list[str], index: int, **changes) -> list[str]:
    """The insider's forgery: change one event, re-hash it and every later line, relink."""
    out, previous = [], None
    for number, line in enumerate(lines):
        row = json.loads(line)
        if number == index:
            row.update(changes)
        if previous is not None and number > index:
            row["prev_hash"] = previous
        if number >= index:
            payload = {k: v for k, v in row.items() if k not in ("id", "hash")}
            row["hash"] = hashlib.sha256(audit.canonical_json(payload).encode()).hexdigest()
        previous = row["hash"]
        out.append(json.dumps(row, ensure_ascii=False))
    return out


def test_unfiltered_export_has_a_range_proof_the_snippet_checks(auditor, tmp_path, keys_json):
    content, proof = download(client_for(auditor))
    lines = content.decode().splitlines()
    assert proof["range"] is not None and proof["inclusion"] is None
    assert proof["range"]["first_leaf"] == 0
    assert proof["events"] == len(lines)
    assert proof["tree_head"]["tree_size"] > len(lines)  # the head covers the export event too
    done = run(tmp_path, content, proof, keys_json, "--full")
    assert done.returncode == 0, done.stderr
    assert f"all {len(lines)} events are in the signed tree" in done.stdout
    assert f"fingerprint {proof['key_fingerprint_sha256']}" in done.stdout
    # The range proof is what merkle gives, and its hashes rebuild the head's root.
    leaves = [merkle.leaf_hash(bytes.fromhex(json.loads(x)["hash"])) for x in lines]
    hashes = [bytes.fromhex(h) for h in proof["range"]["proof"]]
    root = bytes.fromhex(proof["tree_head"]["root_hash"])
    assert merkle.verify_range(0, proof["tree_head"]["tree_size"], leaves, hashes, root)


def test_a_relinked_forgery_passes_the_chain_but_not_the_proof(auditor, tmp_path, keys_json):
    content, proof = download(client_for(auditor))
    forged = relinked(content.decode().splitlines(), 2, actor_username="mallory")
    forged_bytes = ("\n".join(forged) + "\n").encode()
    chain_only = run_docs_snippet(tmp_path, forged_bytes, "--full")
    assert chain_only.returncode == 0, chain_only.stderr  # the chain alone cannot tell
    checked = run(tmp_path, forged_bytes, proof, keys_json, "--full")
    assert checked.returncode != 0
    assert "are not leaves 0.." in checked.stderr
    # Dropping the last event, or claiming a later position, fails too.
    lines = content.decode().splitlines()
    shorter = run(tmp_path, ("\n".join(lines[:-1]) + "\n").encode(), proof, keys_json, "--full")
    assert shorter.returncode != 0
    moved = dict(proof, range=dict(proof["range"], first_leaf=1))
    assert run(tmp_path, content, moved, keys_json, "--full").returncode != 0


def test_a_forged_head_over_the_forgery_fails_its_signature(auditor, tmp_path, keys_json):
    """The insider also rewrites the head's root to fit the forged events: only a signature
    made with the instance key could make that head pass."""
    content, proof = download(client_for(auditor))
    forged = relinked(content.decode().splitlines(), 1, after={"stage": "Production"})
    leaves = [merkle.leaf_hash(bytes.fromhex(json.loads(x)["hash"])) for x in forged]
    hashes = [bytes.fromhex(h) for h in proof["range"]["proof"]]
    root = merkle.range_root(0, proof["tree_head"]["tree_size"], leaves, hashes)
    forged_proof = dict(proof, tree_head=dict(proof["tree_head"], root_hash=root.hex()))
    forged_bytes = ("\n".join(forged) + "\n").encode()
    checked = run(tmp_path, forged_bytes, forged_proof, keys_json, "--full")
    assert "all" in checked.stdout  # the Merkle part fits the forged root...
    assert checked.returncode != 0  # ...which no key signed
    assert "signature does not verify" in checked.stderr
    # A head naming a key that is not published.
    unknown = dict(proof, tree_head=dict(proof["tree_head"], key_id="0" * 16))
    checked = run(tmp_path, content, unknown, keys_json, "--full")
    assert checked.returncode != 0 and "not among the published keys" in checked.stderr


def test_filtered_export_has_an_inclusion_proof_per_event(auditor, tmp_path, keys_json):
    content, proof = download(client_for(auditor), action="version.create")
    lines = content.decode().splitlines()
    ids = [json.loads(x)["id"] for x in lines]
    assert len(ids) == 3 and proof["range"] is None  # other events lie between them
    assert sorted(proof["inclusion"]) == sorted(str(i) for i in ids)
    done = run(tmp_path, content, proof, keys_json)
    assert done.returncode == 0, done.stderr
    forged = relinked(lines, 0, actor_username="mallory")
    checked = run(tmp_path, ("\n".join(forged) + "\n").encode(), proof, keys_json)
    assert checked.returncode != 0
    assert f"event {ids[0]}: not in the signed tree" in checked.stderr


def test_a_filtered_export_of_consecutive_events_gets_a_range_proof(auditor, tmp_path, keys_json):
    content, proof = download(client_for(auditor), model="churn-model")
    assert proof["range"] is not None and proof["range"]["first_leaf"] > 0
    done = run(tmp_path, content, proof, keys_json)
    assert done.returncode == 0, done.stderr


def test_proof_without_an_id_is_for_the_users_latest_export(auditor):
    client = client_for(auditor)
    response = client.get(export_url("csv"))
    latest = client.get(PROOF_URL)
    assert latest.status_code == 200
    assert latest.json()["export_event"] == int(response["X-Audit-Export-Event"])
    assert "attachment" in latest["Content-Disposition"]


def test_proof_of_someone_elses_export_or_of_no_export_is_404(auditor, registry_admin, model):
    export = client_for(registry_admin).get(export_url("jsonl"))
    other = AuditEvent.objects.filter(action="version.create").first()
    client = client_for(auditor)
    assert client.get(PROOF_URL).status_code == 404  # the auditor has exported nothing
    for value in (export["X-Audit-Export-Event"], other.pk, "x", "99999999", "9" * 30, "-1"):
        assert client.get(PROOF_URL, {"export": value}).status_code == 404


def test_proof_matrix(auditor, registry_admin, viewer, scientist, other_scientist, model):
    users = {
        "anonymous": None,
        "no_grant": other_scientist,
        "viewer": viewer,
        "owner": scientist,
        "auditor": auditor,
        "admin": registry_admin,
    }
    for user in (auditor, registry_admin):
        client_for(user).get(export_url("jsonl"))
    check_matrix(
        users,
        PROOF_URL,
        {
            "anonymous": LOGIN,
            "no_grant": 403,
            "viewer": 403,
            "owner": 403,
            "auditor": 200,
            "admin": 200,
        },
    )


def test_the_proof_download_writes_no_audit_event(auditor):
    client = client_for(auditor)
    client.get(export_url("jsonl"))
    before = AuditEvent.objects.count()
    assert client.get(PROOF_URL).status_code == 200
    assert AuditEvent.objects.count() == before


# --- The audit trail export report, as a ZIP with its proof -------------------------------


def report_zip(user, **scope):
    import io

    from django.utils import timezone

    from governance.reports import audit_export
    from governance.reports.scope import ReportScope

    out = io.BytesIO()
    audit_export.write(
        user=user,
        scope=ReportScope(**scope),
        fmt="zip",
        progress=lambda p, m: None,
        out=out,
        now=timezone.now(),
    )
    import zipfile

    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_export_report_as_a_zip_carries_events_proof_and_keys(auditor, tmp_path, model):
    files = report_zip(auditor)
    assert set(files) == {"audit-events.jsonl", "proof.json", "signing-keys.json"}
    proof = json.loads(files["proof.json"])
    events = files["audit-events.jsonl"]
    assert proof["range"] is not None and proof["events"] == len(events.decode().splitlines())
    done = run(tmp_path, events, proof, files["signing-keys.json"], "--full")
    assert done.returncode == 0, done.stderr
    forged = relinked(events.decode().splitlines(), 1, actor_username="mallory")
    checked = run(tmp_path, ("\n".join(forged) + "\n").encode(), proof, files["signing-keys.json"])
    assert checked.returncode != 0 and "are not leaves" in checked.stderr


def test_a_model_scoped_zip_has_inclusion_proofs(auditor, tmp_path, model, keys_json):
    files = report_zip(auditor, model=model)
    proof = json.loads(files["proof.json"])
    events = files["audit-events.jsonl"]
    ids = [json.loads(x)["id"] for x in events.decode().splitlines()]
    assert ids and proof["events"] == len(ids)
    assert (proof["range"] is None) == (len(proof["inclusion"] or {}) == len(ids))
    done = run(tmp_path, events, proof, keys_json)
    assert done.returncode == 0, done.stderr
