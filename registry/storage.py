"""Artifact storage: safe names, streaming with SHA-256 and a size limit, cleanup.

Everything goes through Django's storage API, so the same code writes local files on the
embedded default and S3 objects (multipart for large files) in production.
"""

import contextlib
import hashlib
import io
import logging
import os
import posixpath
import re
import uuid

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from registry import pickles

PICKLE_EXTENSIONS = frozenset(
    {
        ".pkl",
        ".pickle",
        ".joblib",
        ".pt",
        ".pth",
        ".ckpt",
        ".bin",
        ".dill",
        ".sav",
        ".npy",
        ".npz",
        ".zip",
        ".mar",
        ".model",
        ".data",
    }
)
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._+=@-]+")
log = logging.getLogger(__name__)

MAX_SEGMENT = 120
MAX_EXTENSION = 16  # with its dot
MAX_PATH = 500


class ArtifactError(Exception):
    """A problem with one artifact that the user can fix (shown on the form)."""


class ArtifactTooLarge(ArtifactError):
    pass


class ArtifactInterrupted(ArtifactError):
    """The body ended before the length its client announced: nothing of it is kept."""


class ArtifactStorageError(Exception):
    """The storage backend failed; nothing was kept."""


def human_size(num: int) -> str:
    size = float(num)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{num} bytes"


def sanitize_segment(segment: str, fallback: str = "") -> str:
    """One path segment in safe characters: never hidden, never "." or "..", at most
    MAX_SEGMENT long. The extension survives shortening and odd characters in the stem,
    because it decides whether the file is pickle-scanned. A stem with nothing usable
    left becomes `fallback` (or the segment is dropped when there is none)."""
    stem, ext = posixpath.splitext(segment.strip())  # ".htaccess" is all stem
    if len(ext) > MAX_EXTENSION:  # not an extension: "run.2024-01-01T00-00-00Z"
        stem, ext = stem + ext, ""
    stem = _UNSAFE_CHARS.sub("_", stem).strip("_.")
    ext = _UNSAFE_CHARS.sub("_", ext[1:]).strip("_.")
    stem = stem or fallback
    if not stem:
        return ""
    ext = f".{ext}" if ext else ""
    return stem[: MAX_SEGMENT - len(ext)] + ext


def sanitize_path(raw: str, *, keep_dirs: bool = True) -> str:
    """A relative POSIX path with no traversal, no absolute parts, no odd characters.

    Form uploads keep only the file name; API uploads keep sub-directories
    (an MLflow model is a directory: model/MLmodel, model/model.pkl).
    """
    parts = [p for p in re.split(r"[\\/]+", raw or "") if p.strip() not in ("", ".", "..")]
    if not keep_dirs:
        parts = parts[-1:]
    if not parts:
        raise ArtifactError(f"{raw!r} is not a usable file name.")
    *dirs, name = parts
    cleaned = [d for d in (sanitize_segment(d) for d in dirs) if d]
    cleaned.append(sanitize_segment(name, fallback="artifact"))
    path = "/".join(cleaned)
    if len(path) > MAX_PATH:
        raise ArtifactError(f"{path[:60]}… is longer than {MAX_PATH} characters.")
    return path


ZIP_TAIL_BYTES = 65_536 + 22


def needs_pickle_scan(path: str, head: bytes, *, complete: bool = False, tail: bytes = b"") -> bool:
    """Queue a scan when the name or the first bytes say the file could hold a pickle: a
    pickle of any protocol (protocols 0 and 1 have no magic bytes: the opcodes are read),
    a compressed stream or an archive; or when its last bytes hold a zip's end record.
    The scanner then reads the whole file and decides; files an MLmodel names as pickled
    models are added by the version service."""
    ext = posixpath.splitext(path)[1].lower()
    if ext in PICKLE_EXTENSIONS or b"PK\x05\x06" in tail:  # a zip's end: zipfile opens it
        return True
    return pickles.might_need_scan(head, complete=complete)


class HashingFile(File):
    """Wraps a readable stream: hashes and counts bytes as the storage reads them, and
    stops with ArtifactTooLarge as soon as the limit is passed."""

    # Storage reads this much per call: fewer trips through Python per byte (the MLflow
    # artifact proxy streams request bodies through here), memory still bounded.
    DEFAULT_CHUNK_SIZE = 1024 * 1024

    def __init__(self, stream, name: str, max_bytes: int):
        super().__init__(stream, name=name)
        self._max_bytes = max_bytes
        self._reset()

    def _reset(self):
        self._hasher = hashlib.sha256()
        self.bytes_read = 0
        self.head = b""
        self.tail = b""  # a zip's end record sits in the last 64 KiB + 22 bytes

    @property
    def size(self):  # storage backends may ask; the true size is known only after reading
        return self.bytes_read

    def read(self, size=-1):
        data = self.file.read(size)
        if data:
            self.bytes_read += len(data)
            if self.bytes_read > self._max_bytes:
                raise ArtifactTooLarge(
                    f"{self.name} is larger than the {human_size(self._max_bytes)} limit."
                )
            if len(self.head) < pickles.SNIFF_BYTES:
                self.head = (self.head + data)[: pickles.SNIFF_BYTES]
            self.tail = (self.tail[-ZIP_TAIL_BYTES:] + data[-ZIP_TAIL_BYTES:])[-ZIP_TAIL_BYTES:]
            self._hasher.update(data)
        return data

    @property
    def closed(self):
        # Request bodies (the MLflow artifact proxy streams them) have no `closed`.
        return bool(getattr(self.file, "closed", False))

    def seekable(self):
        # Reported as not seekable so backends stream it front to back: S3 then uploads
        # part by part (bounded memory) instead of seeking around to measure it.
        return False

    def seek(self, offset, whence=io.SEEK_SET):
        if offset == 0 and whence == io.SEEK_SET:
            self._reset()  # a storage backend restarting from the top re-hashes
        elif not (offset == 0 and whence == io.SEEK_CUR):
            raise io.UnsupportedOperation("artifact streams are read front to back")
        if hasattr(self.file, "seek"):
            try:
                return self.file.seek(offset, whence)
            except (io.UnsupportedOperation, OSError):
                return 0
        return 0

    def tell(self):
        return self.bytes_read

    def chunks(self, chunk_size=None):
        chunk_size = chunk_size or self.DEFAULT_CHUNK_SIZE
        while True:
            data = self.read(chunk_size)
            if not data:
                break
            yield data

    def multiple_chunks(self, chunk_size=None):
        return True

    @property
    def sha256(self) -> str:
        return self._hasher.hexdigest()


class PrehashedFile:
    """Mixed into a file whose SHA-256, size, head and tail were taken while it was
    written (registry.uploads hashes each upload as it spools). store_stream then keeps
    those instead of reading the file again; with a temporary file on local storage the
    file is moved into place, not copied."""

    prehashed_sha256: str | None = None

    def set_digest(self, *, sha256: str, size: int, head: bytes, tail: bytes) -> None:
        self.prehashed_sha256 = sha256
        self.prehashed_size = size
        self.prehashed_head = head
        self.prehashed_tail = tail


class StoredArtifact:
    """What was written: where, how big, its hash, and whether it needs a pickle scan."""

    def __init__(self, path, storage_name, size, sha256, content_type, needs_scan):
        self.path = path
        self.storage_name = storage_name
        self.size = size
        self.sha256 = sha256
        self.content_type = content_type
        self.needs_scan = needs_scan


def storage_prefix(registered_model_id: int) -> str:
    return f"artifacts/{registered_model_id}/{uuid.uuid4().hex}"


def store_stream(
    stream, *, prefix: str, path: str, content_type: str = "", allow_empty: bool = False
) -> StoredArtifact:
    """Stream one file into storage under prefix/path. Raises ArtifactError (the user's
    to fix) or ArtifactStorageError (the backend failed); in both cases nothing is left.
    An empty file is refused unless `allow_empty` (an export with nothing in it).

    A PrehashedFile (an upload hashed as it spooled) is stored as it is: on local storage
    its temporary file is renamed into place. Anything else is hashed as storage reads it.
    On local storage the file is flushed to disk (fsync) before this returns, so a row
    that names it never outlives it in a power cut."""
    limit = settings.ARTIFACT_MAX_BYTES
    target = f"{prefix}/{path}"
    if isinstance(stream, PrehashedFile) and stream.prehashed_sha256 is not None:
        if stream.prehashed_size > limit:  # the handler's limit may have been another
            raise ArtifactTooLarge(f"{path} is larger than the {human_size(limit)} limit.")
        content, size, sha256 = stream, stream.prehashed_size, stream.prehashed_sha256
        head, tail = stream.prehashed_head, stream.prehashed_tail
    else:
        content = HashingFile(stream, name=path, max_bytes=limit)
    try:
        saved_name = default_storage.save(target, content)
        _sync_local(saved_name)
    except ArtifactError:
        delete_quietly([target], prefix=prefix)
        raise
    except Exception as exc:  # any backend failure: disk full, S3 unreachable, ...
        delete_quietly([target], prefix=prefix)
        # The backend's message can name server paths or buckets: log it, do not show it.
        log.exception("storing %s failed", target)
        raise ArtifactStorageError(f"Storing {path} failed") from exc
    if isinstance(content, HashingFile):
        size, sha256 = content.bytes_read, content.sha256
        head, tail = content.head, content.tail
    if size == 0 and not allow_empty:
        delete_quietly([saved_name], prefix=prefix)
        raise ArtifactError(f"{path} is empty.")
    return StoredArtifact(
        path=path,
        storage_name=saved_name,
        size=size,
        sha256=sha256,
        content_type=content_type[:200],
        needs_scan=needs_pickle_scan(path, head, complete=size <= len(head), tail=tail),
    )


def _sync_local(storage_name: str) -> None:
    """On a local disk, push the file's bytes and its directory entry to the device
    (object stores acknowledge a write once it is durable)."""
    try:
        full = default_storage.path(storage_name)
    except NotImplementedError:
        return
    fd = os.open(full, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fd = os.open(os.path.dirname(full), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def delete_quietly(names, *, prefix: str | None = None) -> None:
    """Best-effort removal of stored files after a failed write, and on a local disk of
    the folders under `prefix` that this left empty (object stores have no folders)."""
    for name in names:
        # Cleanup must never mask the error that made it necessary.
        with contextlib.suppress(Exception):
            default_storage.delete(name)
    if prefix:
        with contextlib.suppress(Exception):
            _remove_empty_dirs(prefix)


def _remove_empty_dirs(prefix: str) -> None:
    try:
        top = default_storage.path(prefix)
    except NotImplementedError:
        return
    for dirpath, _dirs, _files in os.walk(top, topdown=False):
        with contextlib.suppress(OSError):  # not empty: another file still lives there
            os.rmdir(dirpath)


def local_path_or_none(storage_name: str) -> str | None:
    try:
        path = default_storage.path(storage_name)
    except NotImplementedError:
        return None
    return path if os.path.exists(path) else None


def purge_prefix(prefix: str) -> int:
    """Remove everything stored under `prefix` (a failed upload's leftovers): objects, and
    on S3 the parts of multipart uploads that died with their connection. Raises if the
    storage cannot be reached, so the caller can retry. Returns how many things it removed."""
    if not prefix.startswith("artifacts/") or ".." in prefix:
        raise ValueError(f"refusing to purge {prefix!r}")
    bucket = getattr(default_storage, "bucket", None)
    if bucket is None:  # local files
        removed = 0
        try:
            top = default_storage.path(prefix)
        except NotImplementedError:
            return 0
        for dirpath, _dirs, files in os.walk(top, topdown=False):
            for name in files:
                os.remove(os.path.join(dirpath, name))
                removed += 1
            os.rmdir(dirpath)
        return removed
    key_prefix = prefix.rstrip("/") + "/"
    removed = 0
    for obj in bucket.objects.filter(Prefix=key_prefix):
        obj.delete()
        removed += 1
    client = bucket.meta.client
    uploads = client.list_multipart_uploads(Bucket=bucket.name, Prefix=key_prefix)
    for upload in uploads.get("Uploads", []):
        client.abort_multipart_upload(
            Bucket=bucket.name, Key=upload["Key"], UploadId=upload["UploadId"]
        )
        removed += 1
    return removed
