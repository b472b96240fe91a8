from django.core.exceptions import PermissionDenied
from django.db import transaction

from governance import access, audit
from registry.models import Artifact


class FlaggedArtifactRefused(PermissionDenied):
    """A flagged (or unscannable) artifact was asked for without an explicit confirmation."""


def needs_download_confirmation(artifact: Artifact) -> bool:
    """Flagged, scan failed, or a "clean" an older scanner left with findings: the bytes may
    run code when unpickled, so they are handed out only after an explicit confirmation."""
    status = artifact.scan_status
    return status in (Artifact.ScanStatus.FLAGGED, Artifact.ScanStatus.ERROR) or (
        status == Artifact.ScanStatus.CLEAN and bool(artifact.scan_findings)
    )


def artifact_download_record(*, actor, artifact: Artifact, confirmed: bool = False) -> None:
    """Downloads are recorded: who fetched which bytes (by hash), from where. A flagged
    artifact needs `confirmed=True` and is recorded as artifact.download_flagged, with the
    verdict the downloader was shown."""
    access.require(actor, artifact.model_version.registered_model, "view")
    risky = needs_download_confirmation(artifact)
    if risky and not confirmed:
        raise FlaggedArtifactRefused(
            f"{artifact.path} is {artifact.get_scan_status_display().lower()} by the pickle "
            "scan: it may run code when loaded. Download it from the version page in the web "
            "UI, after confirming that you understand the risk."
        )
    after = {"path": artifact.path, "sha256": artifact.sha256, "size": artifact.size}
    if risky:
        after |= {"scan_status": artifact.scan_status, "scan_findings": artifact.scan_findings}
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="artifact.download_flagged" if risky else "artifact.download",
            target=artifact,
            after=after,
            registered_model_id=artifact.model_version.registered_model_id,
            model_version_id=artifact.model_version_id,
        )
