"""Crash leftovers: remove what an upload that never finished left behind.

A server killed mid-upload leaves Django's spooled temporary file (under
FILE_UPLOAD_TEMP_DIR) and possibly a partial object in storage under a fresh prefix that
no row will ever name; the clean-up paths in `version_create` and friends never ran. The
sweep removes, once they are older than ATTEST_SWEEP_GRACE_SECONDS (so an upload still in
flight is never touched):

- spooled upload files (`*.upload*`, the names Django gives them) in FILE_UPLOAD_TEMP_DIR;
- stored objects under the prefixes uploads write to that no row references (every model
  with a `storage_name` field counts: artifacts, staged MLflow artifacts, reports,
  compliance documents), and on S3 multipart uploads that were never completed;
- on local storage, the directories those removals leave empty.

Each run examines at most ATTEST_SWEEP_BATCH stored objects, in name order, and carries
on from there on the next run (the position is kept in the cache); when the listing is
exhausted it starts again from the top. A run that removed something records one audit
event (actor "system:sweeper") naming what it removed and how many bytes.
"""

import contextlib
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone

from governance import audit
from registry.checks import MIN_SWEEP_GRACE_SECONDS

log = logging.getLogger(__name__)

ACTOR = "system:sweeper"
# Every prefix an upload writes under (registry.storage.storage_prefix, the MLflow
# artifact proxy, compliance documents, generated reports). Anything else in the bucket
# is not ours to judge.
PREFIXES = ("artifacts/", "compliance/", "mlflow/", "reports/")
CURSOR_KEY = "attest:sweep:cursor"
CHECK_CHUNK = 500  # names per reference query
LISTED_IN_EVENT = 200  # names listed in the audit event (the totals always count all)


@dataclass
class SweepResult:
    removed: list = field(default_factory=list)  # [{"name", "bytes", "kind"}]
    examined: int = 0
    kept_young: int = 0
    kept_referenced: int = 0
    complete: bool = True  # False: the batch ran out; the next run carries on
    dry_run: bool = False  # only say what would go

    @property
    def removed_bytes(self) -> int:
        return sum(item["bytes"] for item in self.removed)


@dataclass
class _Stored:
    name: str
    size: int
    modified: datetime
    upload_id: str = ""  # an unfinished S3 multipart upload, not an object


def referenced_names(names) -> set[str]:
    """Those of `names` that some row names as its stored file."""
    names = list(names)
    found: set[str] = set()
    for model, column in _storage_columns():
        for start in range(0, len(names), CHECK_CHUNK):
            chunk = names[start : start + CHECK_CHUNK]
            found.update(
                model._base_manager.filter(**{f"{column}__in": chunk}).values_list(
                    column, flat=True
                )
            )
    return found


def _storage_columns():
    """(model, field name) of every column that names a stored file: the `storage_name`
    fields Attest uses, and any FileField a future model adds."""
    return [
        (model, f.name)
        for model in apps.get_models()
        for f in model._meta.concrete_fields
        if f.name == "storage_name" or isinstance(f, models.FileField)
    ]


# --- Listing storage in name order, from a cursor ------------------------------------------


def _bucket():
    return getattr(default_storage, "bucket", None)


def _list_local(prefix: str, after: str):
    try:
        root = default_storage.path("")
    except NotImplementedError:
        return
    top = os.path.join(root, prefix.rstrip("/"))
    if not os.path.isdir(top):
        return
    yield from _walk_sorted(root, prefix.rstrip("/"), after)


def _walk_sorted(root: str, rel: str, after: str):
    """Files under root/rel as storage names, in the order S3 would list them."""
    try:
        entries = list(os.scandir(os.path.join(root, rel)))
    except OSError:
        return
    keyed = []
    for entry in entries:
        if entry.is_symlink():
            continue  # never follow a link out of the storage root
        name = f"{rel}/{entry.name}"
        keyed.append((name + "/" if entry.is_dir() else name, entry))
    for key, entry in sorted(keyed, key=lambda item: item[0]):
        if key.endswith("/"):
            # A whole directory before the cursor (and not on its path) is skipped.
            if key < after and not after.startswith(key):
                continue
            yield from _walk_sorted(root, key[:-1], after)
        elif key > after:
            with contextlib.suppress(OSError):
                stat = entry.stat()
                yield _Stored(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, tz=UTC))


def _list_s3(bucket, prefix: str, after: str):
    marker = after if after > prefix else ""
    for obj in bucket.objects.filter(Prefix=prefix, Marker=marker):
        yield _Stored(obj.key, obj.size, obj.last_modified)


def _list(prefix: str, after: str):
    bucket = _bucket()
    if bucket is None:
        return _list_local(prefix, after)
    return _list_s3(bucket, prefix, after)


def _unfinished_multipart(cutoff: datetime, limit: int):
    """S3 multipart uploads under our prefixes begun before cutoff and never completed:
    their parts are billed and invisible to listings."""
    bucket = _bucket()
    if bucket is None:
        return []
    client = bucket.meta.client
    found = []
    for prefix in PREFIXES:
        paginator = client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=bucket.name, Prefix=prefix):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    found.append(_Stored(upload["Key"], 0, upload["Initiated"], upload["UploadId"]))
                if len(found) >= limit:
                    return found
    return found


# --- Removing ----------------------------------------------------------------------------


def _remove_stored(item: _Stored, result: SweepResult) -> bool:
    if result.dry_run:
        return True
    try:
        if item.upload_id:
            bucket = _bucket()
            bucket.meta.client.abort_multipart_upload(
                Bucket=bucket.name, Key=item.name, UploadId=item.upload_id
            )
        else:
            default_storage.delete(item.name)
    except Exception:  # noqa: BLE001 - one stubborn object must not stop the sweep
        log.exception("sweep: removing %s failed", item.name)
        return False
    return True


def _prune_empty_parents(name: str) -> None:
    """On a local disk, remove the folders a removed file leaves empty, up to its prefix."""
    if _bucket() is not None:
        return
    parent = name.rsplit("/", 1)[0]
    while "/" in parent:  # never the prefix itself ("artifacts")
        try:
            os.rmdir(default_storage.path(parent))
        except (OSError, NotImplementedError):
            return  # not empty (another file lives there), or not a local disk
        parent = parent.rsplit("/", 1)[0]


def _sweep_spool(cutoff: datetime, limit: int, result: SweepResult) -> None:
    spool = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)
    if not spool or not os.path.isdir(spool):
        return  # the system temporary directory is not ours to sweep
    with os.scandir(spool) as entries:
        for entry in entries:
            if len(result.removed) >= limit:
                result.complete = False
                return
            # Django names spooled uploads tmpXXXX.upload[.ext]; leave anything else alone.
            if ".upload" not in entry.name or not entry.is_file(follow_symlinks=False):
                continue
            try:
                stat = entry.stat(follow_symlinks=False)
                if datetime.fromtimestamp(stat.st_mtime, tz=UTC) >= cutoff:
                    continue
                if not result.dry_run:
                    os.remove(entry.path)
            except OSError:
                continue
            result.removed.append(
                {"name": f"spool/{entry.name}", "bytes": stat.st_size, "kind": "upload-temp"}
            )


def storage_sweep(*, now: datetime | None = None, dry_run: bool = False) -> SweepResult:
    """One sweep run (see the module docstring). Idempotent: a second run finds nothing.
    With dry_run, nothing is removed or recorded: the result lists what would go."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ATTEST_SWEEP_GRACE_SECONDS)
    batch = max(1, settings.ATTEST_SWEEP_BATCH)
    if settings.ATTEST_SWEEP_GRACE_SECONDS < MIN_SWEEP_GRACE_SECONDS:  # the check says so too
        raise ImproperlyConfigured("ATTEST_SWEEP_GRACE_SECONDS is below one hour")
    result = SweepResult(dry_run=dry_run)

    _sweep_spool(cutoff, batch, result)

    after = cache.get(CURSOR_KEY, "")
    page: list[_Stored] = []
    last = after
    for prefix in PREFIXES:
        if result.examined >= batch:
            break
        if after >= prefix and not after.startswith(prefix):
            continue  # this prefix was finished in an earlier run
        for item in _list(prefix, after):
            result.examined += 1
            last = item.name
            if item.modified >= cutoff:
                result.kept_young += 1
            else:
                page.append(item)
            if len(page) >= CHECK_CHUNK:
                _remove_unreferenced(page, result)
                page = []
            if result.examined >= batch:
                break
    _remove_unreferenced(page, result)
    if result.examined >= batch:
        result.complete = False
        if not dry_run:
            cache.set(CURSOR_KEY, last, timeout=None)
    else:
        if not dry_run:
            cache.delete(CURSOR_KEY)
        for upload in _unfinished_multipart(cutoff, batch):
            if _remove_stored(upload, result):
                result.removed.append(
                    {"name": upload.name, "bytes": 0, "kind": "unfinished-multipart"}
                )

    if result.removed and not dry_run:
        with transaction.atomic():
            audit.record(
                actor=ACTOR,
                action="storage.sweep",
                after={
                    "removed_count": len(result.removed),
                    "removed_bytes": result.removed_bytes,
                    "removed": result.removed[:LISTED_IN_EVENT],
                    "grace_seconds": settings.ATTEST_SWEEP_GRACE_SECONDS,
                    "complete": result.complete,
                },
            )
    return result


def _remove_unreferenced(items: list[_Stored], result: SweepResult) -> None:
    if not items:
        return
    keep = referenced_names(item.name for item in items)
    for item in items:
        if item.name in keep:
            result.kept_referenced += 1
        elif _remove_stored(item, result):
            result.removed.append({"name": item.name, "bytes": item.size, "kind": "orphan"})
            if not result.dry_run:
                _prune_empty_parents(item.name)
