"""System checks for the upload sweep (registry.services.sweep)."""

from django.conf import settings
from django.core import checks

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
