"""Witnessing: every signed tree head is also copied to a second store the database's
insiders cannot rewrite, so rolling the log and its heads back together still shows.

Two stores, by setting:
- ATTEST_WITNESS_S3_BUCKET: an S3 bucket (created with Object Lock enabled); each head is
  written with Object Lock in COMPLIANCE mode for ATTEST_WITNESS_RETENTION_DAYS, so not
  even the account's root user can delete or overwrite it before then. Endpoint and
  credentials default to the artifact store's (ARTIFACT_S3_*).
- ATTEST_WITNESS_DIR: a directory (another disk, a WORM mount, an rsync'd folder).

verify_audit compares every witnessed head with the database's and checks it against the
events (governance.transparency). This module imports nothing from `registry`.
"""

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings

from governance.models import SignedTreeHead

logger = logging.getLogger(__name__)
PREFIX = "attest-tree-heads/"


def _name(head_id: int) -> str:
    return f"{PREFIX}{head_id:012d}.json"


def _record(head: SignedTreeHead) -> bytes:
    return json.dumps({"id": head.pk, **head.as_json()}, sort_keys=True).encode()


class DirectoryWitness:
    def __init__(self, path: str):
        self.root = Path(path)

    def names(self) -> set[str]:
        folder = self.root / PREFIX
        return {PREFIX + p.name for p in folder.glob("*.json")} if folder.is_dir() else set()

    def put(self, name: str, data: bytes) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as out:  # never overwrite a witnessed head
            out.write(data)

    def get(self, name: str) -> bytes:
        return (self.root / name).read_bytes()


class S3Witness:
    def __init__(self, bucket: str):
        import boto3

        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=settings.ATTEST_WITNESS_S3_ENDPOINT_URL or None,
            region_name=settings.ATTEST_WITNESS_S3_REGION,
            aws_access_key_id=settings.ATTEST_WITNESS_S3_ACCESS_KEY_ID or None,
            aws_secret_access_key=settings.ATTEST_WITNESS_S3_SECRET_ACCESS_KEY or None,
        )

    def names(self) -> set[str]:
        found = set()
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=PREFIX
        )
        for page in pages:
            found |= {item["Key"] for item in page.get("Contents", [])}
        return found

    def put(self, name: str, data: bytes) -> None:
        until = datetime.now(UTC) + timedelta(days=settings.ATTEST_WITNESS_RETENTION_DAYS)
        self.client.put_object(
            Bucket=self.bucket,
            Key=name,
            Body=data,
            ContentType="application/json",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=until,
            ChecksumAlgorithm="SHA256",  # Object Lock puts need a checksum
        )

    def get(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()


def store():
    if getattr(settings, "ATTEST_WITNESS_S3_BUCKET", ""):
        return S3Witness(settings.ATTEST_WITNESS_S3_BUCKET)
    if getattr(settings, "ATTEST_WITNESS_DIR", ""):
        return DirectoryWitness(settings.ATTEST_WITNESS_DIR)
    return None


def witness_new_heads() -> int:
    """Copy every head the witness does not hold yet; returns how many were copied."""
    witness = store()
    if witness is None:
        return 0
    held = witness.names()
    copied = 0
    for head in SignedTreeHead.objects.order_by("id").iterator():
        if _name(head.pk) not in held:
            witness.put(_name(head.pk), _record(head))
            copied += 1
    return copied


def witnessed_heads() -> list[dict] | None:
    """The witness's copies ({"id", "tree_size", ...}), or None without a witness."""
    witness = store()
    if witness is None:
        return None
    return [json.loads(witness.get(name)) for name in sorted(witness.names())]
