"""Failure tests on the production stack: the S3 endpoint goes away mid-upload, a worker is
killed mid-task, the broker is down when a write commits. Real processes and connections;
the 'going away' is a loopback proxy (tests/stack.py) cutting the connection."""

import io
import pickle

import boto3
import pytest
from django.conf import settings
from django.urls import reverse

from core.dispatch import BROKER_DOWN_MESSAGE, dispatch_pending
from core.models import Job
from governance.models import AuditEvent
from registry.models import Artifact, ModelVersion
from tests.conftest import client_for, wait_for_job
from tests.factories import make_model, make_version
from tests.stack import PROXIES, STACK_ENABLED, wait_for

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        not STACK_ENABLED,
        reason="production stack not configured: run with ATTEST_TEST_STACK=1 (.ci/run does)",
    ),
]


@pytest.fixture
def s3():
    options = settings.STORAGES["default"]["OPTIONS"]
    return boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def proxies():
    yield PROXIES
    for proxy in PROXIES.values():
        proxy.restore()


def _leftovers(s3, model_id):
    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    prefix = f"artifacts/{model_id}/"
    objects = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
    return [o["Key"] for o in objects], [u["Key"] for u in uploads]


def test_s3_going_away_mid_upload_leaves_nothing(transactional_db, scientist, s3, proxies):
    model = make_model(scientist, name="s3-outage")
    payload = io.BytesIO(b"\x01" * (24 * 1024 * 1024))  # multipart: five parts
    payload.name = "weights.bin"
    proxies["s3"].cut_after_bytes(9 * 1024 * 1024)  # the endpoint vanishes mid-transfer

    response = client_for(scientist).post(
        reverse("registry:version-create", args=[model.name]),
        {
            "files": payload,
            "framework": "sklearn",
            "metrics-TOTAL_FORMS": "0",
            "metrics-INITIAL_FORMS": "0",
            "params-TOTAL_FORMS": "0",
            "params-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 400
    assert b"Storing weights.bin failed" in response.content
    assert b"Nothing was saved" in response.content
    assert ModelVersion.objects.filter(registered_model=model).count() == 0
    assert Artifact.objects.filter(model_version__registered_model=model).count() == 0
    assert not AuditEvent.objects.filter(action="version.create").exists()
    # The endpoint comes back; the clean-up job (retrying with backoff) removes what the
    # broken transfer left: objects and incomplete multipart uploads.
    proxies["s3"].restore()
    purge = Job.objects.get(kind="storage_purge", registered_model_id=model.pk)
    assert wait_for_job(purge.pk, timeout=90).status == Job.Status.SUCCEEDED
    assert _leftovers(s3, model.pk) == ([], [])


def test_worker_killed_mid_task_is_retried_and_completes_once(
    transactional_db, scientist, stack_worker
):
    model = make_model(scientist, name="worker-crash")
    big_pickle = pickle.dumps(b"\x00" * (160 * 1024 * 1024), protocol=4)
    version = make_version(scientist, model, files={"model.pkl": big_pickle})
    job = Job.objects.get(model_version_id=version.pk)

    wait_for(
        lambda: Job.objects.get(pk=job.pk).status == Job.Status.RUNNING,
        timeout=60,
        what="the scan to start",
        interval=0.01,
    )
    stack_worker.kill()  # SIGKILL, mid-task: the message was never acknowledged
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING
    stack_worker.start()

    job = wait_for_job(job.pk, timeout=120)
    assert job.status == Job.Status.SUCCEEDED
    assert job.attempts >= 2  # it really ran again
    assert Artifact.objects.get(model_version=version).scan_status == "clean"
    assert (
        AuditEvent.objects.filter(action="artifact.scan", model_version_id=version.pk).count() == 1
    )


def test_broker_down_at_commit_keeps_the_write_and_runs_the_task_later(
    transactional_db, scientist, proxies
):
    model = make_model(scientist, name="broker-outage")
    proxies["redis"].cut()
    wait_for(lambda: not _port_open(proxies["redis"].port), timeout=10, what="the broker cut")

    version = make_version(scientist, model, files={"model.pkl": pickle.dumps({"w": [1, 2]})})

    assert ModelVersion.objects.filter(pk=version.pk).exists()  # the write stands
    job = Job.objects.get(model_version_id=version.pk)
    assert job.status == Job.Status.QUEUED and job.dispatched_at is None
    assert job.message == BROKER_DOWN_MESSAGE
    page = client_for(scientist).get(version.get_absolute_url())
    assert BROKER_DOWN_MESSAGE.encode() in page.content  # the user is told

    proxies["redis"].restore()
    assert dispatch_pending(min_age_seconds=0) == 1  # what Celery beat does every minute
    assert wait_for_job(job.pk, timeout=90).status == Job.Status.SUCCEEDED
    assert Artifact.objects.get(model_version=version).scan_status == "clean"
    assert (
        AuditEvent.objects.filter(action="artifact.scan", model_version_id=version.pk).count() == 1
    )


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
