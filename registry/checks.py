"""System checks for uploads: the sweep (registry.services.sweep) and the spool directory."""

import os

from django.conf import settings
from django.core import checks
from django.core.files.storage import default_storage

# The sweep must never take an upload that is still streaming in: a multi-gigabyte artifact
# on a slow link takes a while, and its spool file and stored object have no row until the
# upload has finished.
MIN_SWEEP_GRACE_SECONDS = 3600


@checks.register()
def check_sweep_grace(app_configs=None, **kwargs):
    grace = settings.ATTEST_SWEEP_GRACE_SECONDS
    if grace < MIN_SWEEP_GRACE_SECONDS:
        return [
            checks.Error(
                f"ATTEST_SWEEP_GRACE_SECONDS is {grace}; the upload sweep needs at least "
                f"{MIN_SWEEP_GRACE_SECONDS} s so it never removes an upload still in flight.",
                hint="Raise SWEEP_GRACE_SECONDS (default 86400).",
                id="registry.E020",
            )
        ]
    if settings.ATTEST_SWEEP_BATCH < 1:
        return [
            checks.Error(
                "ATTEST_SWEEP_BATCH must be at least 1.", hint="SWEEP_BATCH", id="registry.E021"
            )
        ]
    return []


@checks.register()
def check_spool_on_artifact_disk(app_configs=None, **kwargs):
    """With local storage an upload's spool file is renamed into place (registry.uploads):
    only possible when FILE_UPLOAD_TEMP_DIR is on the artifacts' filesystem. Elsewhere
    every upload is copied, which doubles its disk writes."""
    spool = settings.FILE_UPLOAD_TEMP_DIR
    try:
        root = default_storage.path("")
    except NotImplementedError:  # object storage: the spool file is read once by the upload
        return []
    try:
        same = not spool or os.stat(spool).st_dev == os.stat(root).st_dev
    except OSError:  # not there yet: Django's own checks and the first upload say so
        return []
    if same:
        return []
    return [
        checks.Warning(
            f"FILE_UPLOAD_TEMP_DIR ({spool}) is not on the filesystem of the artifact "
            f"storage ({root}): every upload is copied into place instead of moved.",
            hint="Put FILE_UPLOAD_TEMP_DIR on the artifacts' disk (docs/deploy.md).",
            id="registry.W022",
        )
    ]
