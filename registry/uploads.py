"""Upload handler that enforces the artifact size limit while the request streams in.

Django's handlers spool large files to a temporary file (never whole in memory). This one
adds the limit: a file that passes ARTIFACT_MAX_BYTES is skipped mid-stream and noted on
the request, so the form can say which file was too large instead of timing out.

It also notes an upload that ended early (the client went away, a proxy cut the body):
what arrived is then not what was sent, and nothing of it may be kept.
"""

import os

from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.http import UnreadablePostError

INTERRUPTED_MESSAGE = (
    "The upload was interrupted before it finished, so nothing was saved. Please try again."
)


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, field_name, file_name, *args, **kwargs):
        self._received = 0
        self._current_name = file_name
        if settings.FILE_UPLOAD_TEMP_DIR:  # under var/, swept for crash leftovers
            os.makedirs(settings.FILE_UPLOAD_TEMP_DIR, exist_ok=True)
        super().new_file(field_name, file_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > settings.ARTIFACT_MAX_BYTES:
            oversize = getattr(self.request, "oversize_uploads", [])
            oversize.append(self._current_name)
            self.request.oversize_uploads = oversize
            self.file.close()
            raise SkipFile()
        return super().receive_data_chunk(raw_data, start)


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
