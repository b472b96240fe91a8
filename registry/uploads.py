"""Upload handler that enforces the artifact size limit while the request streams in.

Django's handlers spool large files to a temporary file (never whole in memory). This one
adds the limit: a file that passes ARTIFACT_MAX_BYTES is skipped mid-stream and noted on
the request, so the form can say which file was too large instead of timing out.
"""

from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, field_name, file_name, *args, **kwargs):
        self._received = 0
        self._current_name = file_name
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
