from django.db import transaction

from governance import access, audit
from registry.models import Artifact


def artifact_download_record(*, actor, artifact: Artifact) -> None:
    """Downloads are recorded: who fetched which bytes (by hash), from where."""
    access.require(actor, artifact.model_version.registered_model, "view")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="artifact.download",
            target=artifact,
            after={"path": artifact.path, "sha256": artifact.sha256, "size": artifact.size},
            registered_model_id=artifact.model_version.registered_model_id,
            model_version_id=artifact.model_version_id,
        )
