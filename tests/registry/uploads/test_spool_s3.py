"""A spooled, already-hashed form upload stored on S3 (moto in process, or the production
stack's S3 endpoint with ATTEST_TEST_STACK=1): the object holds the bytes, the row the hash
taken while spooling, and nothing stays in the spool directory. (The S3 endpoint going away
mid-upload: tests/test_stack_failures.py.)"""

import hashlib
import os

import pytest

from registry.models import Artifact
from tests.registry.conftest import CONTENT_TYPE, encode_multipart, management, upload_url
from tests.registry.test_sweep_s3 import s3_bucket  # noqa: F401  (the fixture)

pytestmark = pytest.mark.stack


def test_a_form_upload_goes_to_s3_with_the_hash_taken_while_spooling(
    client,
    model,
    s3_bucket,  # noqa: F811  (the imported fixture)
    upload_tmp,
):
    s3, bucket = s3_bucket
    content = os.urandom(3 * 1024 * 1024 + 5)
    body = encode_multipart(management(0, 0), [("weights.bin", content)])
    response = client.generic("POST", upload_url(model), body, content_type=CONTENT_TYPE)

    assert response.status_code == 302
    artifact = Artifact.objects.get(model_version__registered_model=model)
    assert artifact.sha256 == hashlib.sha256(content).hexdigest()
    assert artifact.size == len(content)
    stored = s3.get_object(Bucket=bucket, Key=artifact.storage_name)["Body"].read()
    assert stored == content
    assert list(upload_tmp.iterdir()) == []
