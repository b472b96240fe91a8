"""The audit trail as a signed, verifiable log: the attacks of an insider with SQL on the
database (and the files of var/ other than the key), each caught by verify_audit."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse

from governance import audit, merkle, signing, transparency
from governance.models import AuditChainHead, AuditEvent, SignedTreeHead
from governance.models.audit import AppendOnlyError
from tests.conftest import client_for
from tests.factories import make_version


@pytest.fixture(autouse=True)
def own_key_dir(settings, tmp_path):
    """Each test signs with a key of its own, under its own var/."""
    settings.VAR_DIR = tmp_path
    settings.ATTEST_SIGNING_KEY_FILE = ""
    settings.ATTEST_SIGNING_RETIRED_KEYS_DIR = ""


def _sql(statement, params=()):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("governance_auditevent", "governance_signedtreehead"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(statement, params)


def _verify_fails(match):
    with pytest.raises(CommandError, match=match):
        call_command("verify_audit")


def _rehash_chain_from(first_id):
    """What a forger who can recompute every hash does after changing an event: rehash
    every later event and move the chain head, so the hash chain verifies again."""
    previous = AuditEvent.objects.filter(id__lt=first_id).order_by("-id").first()
    prev_hash = previous.hash if previous else audit.GENESIS_HASH
    for event in AuditEvent.objects.filter(id__gte=first_id).order_by("id"):
        event.prev_hash = prev_hash
        new_hash = audit.compute_hash(event)
        _sql(
            "UPDATE governance_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
            [prev_hash, new_hash, event.pk],
        )
        prev_hash = new_hash
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev_hash)


def test_an_honest_log_verifies_with_its_signed_heads(version, capsys):
    first = transparency.tree_head_sign()
    make_version(version.created_by, version.registered_model)
    second = transparency.tree_head_sign()
    assert second.tree_size > first.tree_size == first.tree_size
    assert transparency.tree_head_sign() is None  # nothing new: no new head
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "2 signed tree heads verified" in out
    assert f"covers {second.tree_size} events" in out
    # The incremental head equals the root recomputed from scratch.
    leaves = [transparency.leaf_of(h) for h in AuditEvent.objects.values_list("hash", flat=True)]
    assert merkle.root(leaves).hex() == second.root_hash


def test_deleting_the_tail_and_the_chain_head_row_is_caught(version):
    transparency.tree_head_sign()
    last = AuditEvent.objects.order_by("id").last()
    _sql("DELETE FROM governance_auditevent WHERE id = %s", [last.pk])
    new_last = AuditEvent.objects.order_by("id").last()
    AuditChainHead.objects.filter(pk=1).update(last_hash=new_last.hash, last_event_id=new_last.pk)
    _verify_fails("1 signed events were removed")
    AuditChainHead.objects.all().delete()
    _verify_fails("1 signed events were removed")


def test_deleting_everything_is_caught(version):
    transparency.tree_head_sign()
    _sql("DELETE FROM governance_auditevent")
    AuditChainHead.objects.all().delete()
    _verify_fails("the log now holds only 0 events")


def test_deleting_everything_and_every_head_is_caught(version):
    transparency.tree_head_sign()
    _sql("DELETE FROM governance_auditevent")
    _sql("DELETE FROM governance_signedtreehead")
    AuditChainHead.objects.all().delete()
    _verify_fails("no audit event remains, yet event ids were issued")


def test_rewriting_history_and_rehashing_the_chain_is_caught(version):
    transparency.tree_head_sign()
    target = AuditEvent.objects.order_by("id").first()
    _sql(
        "UPDATE governance_auditevent SET actor_username = %s WHERE id = %s",
        ["mallory", target.pk],
    )
    _rehash_chain_from(target.pk)
    from governance.audit import verify_chain

    assert verify_chain()[1:] == (None, "")  # the hash chain alone is fooled
    _verify_fails("no longer have its signed root")


def test_a_head_forged_with_another_key_is_caught(version):
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    honest = transparency.tree_head_sign()
    forger = Ed25519PrivateKey.generate()
    forged = SignedTreeHead(
        tree_size=honest.tree_size,
        root_hash="ab" * 32,
        signed_at=honest.signed_at,
        key_id=honest.key_id,  # claims the instance key
    )
    forged.signature = base64.b64encode(forger.sign(forged.statement())).decode()
    forged.save()
    _verify_fails(f"#{forged.pk}.*signature does not verify")


def test_tree_heads_are_append_only(version):
    head = transparency.tree_head_sign()
    with pytest.raises(AppendOnlyError):
        head.save()
    with pytest.raises(AppendOnlyError):
        SignedTreeHead.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        SignedTreeHead.objects.filter(pk=head.pk).update(root_hash="0" * 64)


@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_sql_that_deletes_a_head(scientist, model):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://... (CI does)")
    from django.db import DatabaseError

    transparency.tree_head_sign()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM governance_signedtreehead")


def test_proofs_tie_an_event_to_a_head_and_an_old_head_to_a_new_one(version):
    old = transparency.tree_head_sign()
    make_version(version.created_by, version.registered_model)
    new = transparency.tree_head_sign()
    for event in AuditEvent.objects.order_by("id")[: new.tree_size]:
        proof = transparency.inclusion_proof(event, new)
        assert merkle.verify_inclusion(
            proof["leaf_index"],
            new.tree_size,
            transparency.leaf_of(event.hash),
            [bytes.fromhex(p) for p in proof["path"]],
            bytes.fromhex(new.root_hash),
        )
    path = [bytes.fromhex(p) for p in transparency.consistency_proof(old, new)]
    assert merkle.verify_consistency(
        old.tree_size,
        new.tree_size,
        bytes.fromhex(old.root_hash),
        bytes.fromhex(new.root_hash),
        path,
    )


def test_rotation_keeps_old_signatures_verifying(version, client, capsys):
    old_head = transparency.tree_head_sign()
    call_command("signing_keys", "--rotate")
    make_version(version.created_by, version.registered_model)
    new_head = transparency.tree_head_sign()
    assert new_head.key_id != old_head.key_id
    call_command("verify_audit")  # the old head verifies under the retired key
    keys = client.get(reverse("governance:signing-keys")).json()["keys"]
    assert [(k["key_id"], k["status"]) for k in keys] == [
        (new_head.key_id, "current"),
        (old_head.key_id, "retired"),
    ]
    assert AuditEvent.objects.filter(action="signing_key.rotate").count() == 1
    # Without the retired public key, the old head no longer verifies: keep them.
    for path in signing.retired_dir().glob("*.pem"):
        path.unlink()
    _verify_fails(f"#{old_head.pk}.*signature does not verify")


def test_a_configured_key_file_is_used_and_a_missing_one_is_an_error(settings, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    path = tmp_path / "secret.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings.ATTEST_SIGNING_KEY_FILE = str(path)
    assert signing.current_key_id() == signing.key_id_of(key.public_key())
    settings.ATTEST_SIGNING_KEY_FILE = str(tmp_path / "missing.pem")
    with pytest.raises(RuntimeError, match="does not exist"):
        signing.private_key()


def test_the_embedded_default_signs_a_head_after_a_request(scientist, model, monkeypatch, settings):
    settings.ATTEST_SIGN_TREE_HEADS_IN_PROCESS = True
    monkeypatch.setattr(transparency, "_last_attempt", 0.0)
    client_for(scientist).get(reverse("registry:model-list"))
    head = transparency.latest_tree_head()
    assert head is not None and head.tree_size == AuditEvent.objects.count()
    # At most once a minute per process: the next request signs nothing new.
    audit_count_before = SignedTreeHead.objects.count()
    with transaction.atomic():
        audit.record(actor=scientist, action="test.write", target=model)
    client_for(scientist).get(reverse("registry:model-list"))
    assert SignedTreeHead.objects.count() == audit_count_before


def test_the_signing_keys_url_needs_no_sign_in(client):
    response = client.get(reverse("governance:signing-keys"))
    assert response.status_code == 200
    body = response.json()
    assert body["algorithm"] == "Ed25519"
    assert body["keys"][0]["key_id"] == signing.current_key_id()
    assert body["keys"][0]["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")


# --- RFC 3161 time-stamps from a real TSA on loopback -------------------------------------


@pytest.fixture
def tsa(settings, tmp_path):
    from tests.tsa import running_tsa

    with running_tsa(tmp_path) as (url, ca_file):
        settings.ATTEST_TSA_URL = url
        settings.ATTEST_TSA_CA_FILE = str(ca_file)
        yield url


def test_heads_are_time_stamped_by_the_tsa_and_verified(version, tsa, capsys):
    from governance import timestamping

    head = transparency.tree_head_sign()
    assert head.timestamp_token
    stamped_at = timestamping.check(head.statement(), head.timestamp_token)
    assert abs((stamped_at - head.signed_at).total_seconds()) < 60
    call_command("verify_audit")
    assert "(1 time-stamped by the TSA)" in capsys.readouterr().out


def test_a_token_for_another_head_is_caught(version, tsa):
    from governance import timestamping

    transparency.tree_head_sign()
    other = timestamping.timestamp(b"attest audit log v1\nsize 0\n")
    make_version(version.created_by, version.registered_model)
    head = transparency.tree_head_sign()
    # An insider swaps in a token over something else (the column is not signed).
    _sql(
        "UPDATE governance_signedtreehead SET timestamp_token = %s WHERE id = %s",
        [other, head.pk],
    )
    _verify_fails(f"#{head.pk}.*time-stamp fails: the time-stamp is over something else")


def test_a_tsa_that_is_down_leaves_the_head_signed_but_not_stamped(version, settings, caplog):
    settings.ATTEST_TSA_URL = "http://127.0.0.1:9/tsa"  # nothing listens on the discard port
    head = transparency.tree_head_sign()
    assert head.timestamp_token == "" and head.signature
    assert "not time-stamped" in caplog.text
    call_command("verify_audit")


def test_a_signed_pdf_carries_the_tsa_time_stamp(tsa):
    import io
    from pathlib import Path

    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509 as asn1_x509
    from django.conf import settings
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from governance import pdf_signing
    from registry.pdf import html_to_pdf

    pdf = html_to_pdf("<p>Stamped</p>")
    roots = [
        asn1_x509.Certificate.load(asn1_pem.unarmor(pdf_signing.certificate_pem())[2]),
        asn1_x509.Certificate.load(
            asn1_pem.unarmor(Path(settings.ATTEST_TSA_CA_FILE).read_bytes())[2]
        ),
    ]
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=roots))
    assert status.bottom_line
    assert status.timestamp_validity is not None and status.timestamp_validity.valid
