"""Witnessing: signed tree heads copied to a second store, so an insider who rolls back
the log and its heads together in the database is still caught. A directory witness on
the embedded default; an S3 bucket with Object Lock (compliance mode) on the stack's S3
endpoint, or moto in process."""

import contextlib
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from django.core.management import CommandError, call_command

from governance import transparency, witness
from governance.models import AuditChainHead
from tests.factories import make_version
from tests.governance.test_audit_log_transparency import _sql
from tests.stack import STACK_ENABLED


@pytest.fixture(autouse=True)
def own_key_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.ATTEST_SIGNING_KEY_FILE = ""


@pytest.fixture
def witness_dir(settings, tmp_path):
    settings.ATTEST_WITNESS_DIR = str(tmp_path / "witness")
    settings.ATTEST_WITNESS_S3_BUCKET = ""
    return tmp_path / "witness"


def test_every_head_is_copied_and_verify_audit_compares(version, witness_dir, capsys):
    first = transparency.tree_head_sign()
    make_version(version.created_by, version.registered_model)
    second = transparency.tree_head_sign()
    copies = sorted(p.name for p in (witness_dir / witness.PREFIX).glob("*.json"))
    assert copies == [f"{first.pk:012d}.json", f"{second.pk:012d}.json"]
    call_command("verify_audit")
    assert "The witness holds 2 heads, all matching." in capsys.readouterr().out


def test_a_log_rolled_back_with_its_heads_is_caught_by_the_witness(version, witness_dir):
    make_version(version.created_by, version.registered_model)
    head = transparency.tree_head_sign()
    # The insider deletes every event, every head and the chain head...
    _sql("DELETE FROM governance_auditevent")
    _sql("DELETE FROM governance_signedtreehead")
    AuditChainHead.objects.all().delete()
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit")
    message = str(caught.value)
    assert f"the witness holds signed tree head #{head.pk}" in message
    assert f"only 0 events, so {head.tree_size} signed events were removed" in message


def test_a_head_rewritten_in_the_database_differs_from_the_witness(version, witness_dir):
    head = transparency.tree_head_sign()
    _sql("UPDATE governance_signedtreehead SET root_hash = %s WHERE id = %s", ["ab" * 32, head.pk])
    with pytest.raises(CommandError, match=f"#{head.pk}.*differs from the witness's copy"):
        call_command("verify_audit")


def test_a_witness_copy_is_never_overwritten(version, witness_dir):
    transparency.tree_head_sign()
    store = witness.store()
    (name,) = store.names()
    with pytest.raises(FileExistsError):
        store.put(name, b"{}")


def test_a_witness_that_is_down_does_not_stop_signing(version, settings, caplog):
    settings.ATTEST_WITNESS_DIR = "/proc/not-writable"
    head = transparency.tree_head_sign()
    assert head.pk and "Could not copy tree heads to the witness" in caplog.text


@pytest.fixture
def locked_bucket(settings):
    """A bucket with Object Lock, on the stack's S3 endpoint or moto in process."""
    bucket = f"attest-witness-{uuid.uuid4().hex[:12]}"
    if STACK_ENABLED:
        endpoint = settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
        mocked = contextlib.nullcontext()
    else:
        from moto import mock_aws

        endpoint, mocked = "", mock_aws()
    with mocked:
        settings.ATTEST_WITNESS_DIR = ""
        settings.ATTEST_WITNESS_S3_BUCKET = bucket
        settings.ATTEST_WITNESS_S3_ENDPOINT_URL = endpoint
        settings.ATTEST_WITNESS_S3_REGION = "us-east-1"
        settings.ATTEST_WITNESS_S3_ACCESS_KEY_ID = "testing"
        settings.ATTEST_WITNESS_S3_SECRET_ACCESS_KEY = "testing"
        client = boto3.client(
            "s3",
            endpoint_url=endpoint or None,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106
        )
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        yield client, bucket


@pytest.mark.stack
def test_heads_go_to_s3_under_compliance_mode_object_lock(version, locked_bucket, capsys):
    client, bucket = locked_bucket
    head = transparency.tree_head_sign()
    key = f"{witness.PREFIX}{head.pk:012d}.json"
    stored = client.head_object(Bucket=bucket, Key=key)
    assert stored["ObjectLockMode"] == "COMPLIANCE"
    assert stored["ObjectLockRetainUntilDate"].year >= head.signed_at.year + 9
    version_id = stored["VersionId"]
    with pytest.raises(ClientError):  # not even the bucket's owner may delete it
        client.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
    call_command("verify_audit")
    assert "The witness holds 1 heads, all matching." in capsys.readouterr().out
    _sql("DELETE FROM governance_signedtreehead")
    with pytest.raises(CommandError, match=f"the witness holds signed tree head #{head.pk}"):
        call_command("verify_audit")
