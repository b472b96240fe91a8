"""The upload sweep on S3: orphaned objects and unfinished multipart uploads under our
prefixes go, referenced and young objects stay, and keys outside our prefixes are never
judged. On the production stack (ATTEST_TEST_STACK=1) this talks to the stack's S3
endpoint; otherwise to moto in process. Either way a bucket of its own, so the sweep sees
nothing but what the test put there."""

import contextlib
import io
import uuid
from datetime import timedelta

import boto3
import pytest
from django.core.cache import cache
from django.utils import timezone

from registry import storage
from registry.services.sweep import CURSOR_KEY, storage_sweep
from tests.factories import make_version
from tests.stack import STACK_ENABLED

pytestmark = pytest.mark.stack


@pytest.fixture
def s3_bucket(settings):
    """S3Storage on a fresh bucket; yields a boto3 client for looking inside."""
    bucket = f"attest-sweep-{uuid.uuid4().hex[:12]}"
    if STACK_ENABLED:
        options = settings.STORAGES["default"]["OPTIONS"]
        endpoint = options["endpoint_url"]
        mocked = contextlib.nullcontext()
    else:
        from moto import mock_aws

        endpoint = None
        mocked = mock_aws()
    with mocked:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106
        )
        client.create_bucket(Bucket=bucket)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": bucket,
                    "region_name": "us-east-1",
                    "endpoint_url": endpoint,
                    "access_key": "testing",
                    "secret_key": "testing",
                    "default_acl": None,
                    "file_overwrite": False,
                },
            },
        }
        cache.delete(CURSOR_KEY)
        yield client, bucket
        cache.delete(CURSOR_KEY)


def keys(client, bucket) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def plant(prefix: str, name: str, content: bytes) -> str:
    return storage.store_stream(io.BytesIO(content), prefix=prefix, path=name).storage_name


def test_s3_orphans_and_unfinished_multipart_uploads_are_swept(
    db, settings, s3_bucket, scientist, model
):
    client, bucket = s3_bucket
    settings.ATTEST_SWEEP_GRACE_SECONDS = 24 * 3600
    version = make_version(scientist, model, files={"weights.json": b'{"w": 1}'})
    referenced = version.artifacts.get().storage_name
    orphan = plant("artifacts/42/" + "a" * 32, "model.pkl", b"x" * 700)
    staged_orphan = plant("mlflow/" + "b" * 32, "model.bin", b"y" * 30)
    client.put_object(Bucket=bucket, Key="elsewhere/not-ours.txt", Body=b"keep")
    dead = client.create_multipart_upload(Bucket=bucket, Key="artifacts/42/" + "c" * 32 + "/big")

    (upload,) = client.list_multipart_uploads(Bucket=bucket)["Uploads"]
    young = storage_sweep()  # everything was written just now: an upload may be in flight
    if upload["Initiated"] > timezone.now() - timedelta(hours=1):
        assert young.removed == []
    else:  # moto in process reports a fixed start time in 2010 for every multipart upload
        assert [i["name"] for i in young.removed] == [dead["Key"]]

    result = storage_sweep(now=timezone.now() + timedelta(days=2))
    assert keys(client, bucket) == sorted([referenced, "elsewhere/not-ours.txt"])
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    removed = {(i["name"], i["kind"]) for i in young.removed + result.removed}
    assert removed == {
        (orphan, "orphan"),
        (staged_orphan, "orphan"),
        (dead["Key"], "unfinished-multipart"),
    }
    assert result.removed_bytes == 730
    assert storage_sweep(now=timezone.now() + timedelta(days=2)).removed == []


def test_s3_listing_is_paged_across_runs(db, settings, s3_bucket):
    client, bucket = s3_bucket
    settings.ATTEST_SWEEP_GRACE_SECONDS = 3600
    settings.ATTEST_SWEEP_BATCH = 2
    for n in range(5):
        plant(f"reports/2026/01/{n:032d}", "r.json", b"{}")
    later = timezone.now() + timedelta(days=1)
    runs = [storage_sweep(now=later) for _ in range(3)]
    assert [len(r.removed) for r in runs] == [2, 2, 1]
    assert not runs[0].complete and runs[2].complete
    assert keys(client, bucket) == []
