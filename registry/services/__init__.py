"""Every write to the registry. Each function is atomic and records one audit event."""

from registry.services.models import model_create, model_update
from registry.services.scans import artifact_scan_record
from registry.services.versions import version_create

__all__ = ["artifact_scan_record", "model_create", "model_update", "version_create"]
