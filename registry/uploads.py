"""Upload handler that hashes, measures and size-limits each file while the request streams in.

Django's multipart parser hands each file to its upload handlers chunk by chunk. This one
writes every chunk once, to a temporary file in FILE_UPLOAD_TEMP_DIR, and while the chunk is
in memory it also feeds the SHA-256, counts the bytes and keeps the first and last bytes the
pickle sniffing needs (registry.storage.needs_pickle_scan). So when the view gets the file,
its hash and size are already known: storage then moves the spooled file into place on a
local disk (a rename, when FILE_UPLOAD_TEMP_DIR is on the same filesystem as the artifacts)
instead of reading it again to hash and copy it (docs/performance.md, "Uploads").

A file that passes ARTIFACT_MAX_BYTES is dropped mid-stream (its spool file deleted) and
noted on the request, so the form can say which file was too large instead of timing out.

It also notes an upload that ended early (the client went away, a proxy cut the body):
what arrived is then not what was sent, and nothing of it may be kept.
"""

import contextlib
import hashlib
import os

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import UnreadablePostError

from registry import pickles, storage

INTERRUPTED_MESSAGE = (
    "The upload was interrupted before it finished, so nothing was saved. Please try again."
)


class HashedUpload(TemporaryUploadedFile, storage.PrehashedFile):
    """A spooled upload whose hash, size, head and tail were taken as its bytes arrived."""


class SizeLimitedUploadHandler(FileUploadHandler):
    # Larger chunks mean fewer trips through the parser's Python code per byte; memory
    # stays bounded (a chunk or two per request).
    chunk_size = 1024 * 1024

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if settings.FILE_UPLOAD_TEMP_DIR:  # under var/, swept for crash leftovers
            os.makedirs(settings.FILE_UPLOAD_TEMP_DIR, exist_ok=True)
        self.file = HashedUpload(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )
        self._hasher = hashlib.sha256()
        self._received = 0
        self._head = b""
        self._tail = b""

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > settings.ARTIFACT_MAX_BYTES:
            oversize = getattr(self.request, "oversize_uploads", [])
            oversize.append(self.file_name)
            self.request.oversize_uploads = oversize
            self.file.close()  # a spooled temporary file is deleted when closed
            raise SkipFile()
        self._hasher.update(raw_data)
        if len(self._head) < pickles.SNIFF_BYTES:
            self._head = (self._head + raw_data[: pickles.SNIFF_BYTES])[: pickles.SNIFF_BYTES]
        self._tail = (self._tail + raw_data[-storage.ZIP_TAIL_BYTES :])[-storage.ZIP_TAIL_BYTES :]
        self.file.write(raw_data)

    def file_complete(self, file_size):
        self.file.flush()
        self.file.seek(0)
        self.file.size = file_size
        self.file.set_digest(
            sha256=self._hasher.hexdigest(), size=file_size, head=self._head, tail=self._tail
        )
        return self.file

    def upload_interrupted(self):
        upload = getattr(self, "file", None)
        if upload is not None:
            with contextlib.suppress(FileNotFoundError):
                path = upload.temporary_file_path()
                upload.close()
                os.remove(path)


def body_cut_short(request) -> bool:
    """True when fewer bytes arrived than the client announced in Content-Length.

    Django reads a WSGI body through a LimitedStream; once the multipart parser is done it
    has read to the announced length, unless the input ran dry first. (The parser itself
    cannot tell: a body cut inside a file loses that file quietly, and a body cut after
    the files loses the fields that came later.)
    """
    stream = getattr(request, "_stream", None)
    read, limit = getattr(stream, "_pos", None), getattr(stream, "limit", None)
    return isinstance(read, int) and isinstance(limit, int) and read < limit


class WholeBody:
    """A request body (the MLflow artifact proxy's PUT) read front to back that refuses to
    end early: a client that goes away mid-body makes the read raise ArtifactInterrupted,
    so store_stream deletes what it wrote instead of keeping the first part as the file."""

    def __init__(self, request):
        self._request = request

    def read(self, size=-1):
        try:
            data = self._request.read(size)
        except UnreadablePostError as exc:
            raise storage.ArtifactInterrupted(INTERRUPTED_MESSAGE) from exc
        if not data and body_cut_short(self._request):
            raise storage.ArtifactInterrupted(INTERRUPTED_MESSAGE)
        return data


def read_upload(request):
    """(POST data, files, interrupted) of a multipart request.

    An upload that did not arrive whole gives no data and interrupted=True: the view then
    shows one clear error instead of validating half a request, a disconnect is a 400
    rather than a server error, and the spooled files are removed.
    """
    try:
        data, files = request.POST, request.FILES
    except UnreadablePostError:  # the client went away mid-body
        for handler in request.upload_handlers:
            handler.upload_interrupted()
        return None, None, True
    if body_cut_short(request):
        for _field, uploads in files.lists():
            for upload in uploads:
                upload.close()  # a spooled temporary file is deleted when closed
        return None, None, True
    return data, files, False
