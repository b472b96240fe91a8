"""The job table: progress of background work (and the outbox that sends it), shared by
both apps. Moved here from registry (issue #16); the table keeps its name,
`registry_job`, so no row moved (core/migrations/0001_job.py changes only Django's state).
"""

from django.conf import settings
from django.db import models


class Job(models.Model):
    """Progress of one piece of background work, polled by the UI."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=50)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    message = models.CharField(max_length=500, blank=True)
    # What the job works on (plain ids so a job survives its subject being removed).
    registered_model_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    model_version_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The outbox: which task runs this job, and when it was handed to the broker. A job
    # still queued and never handed over (the broker was down) is sent again later.
    task_name = models.CharField(max_length=200, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "registry_job"  # created by registry's migrations; kept so no data moves
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "dispatched_at"], name="job_outbox")]

    def __str__(self):
        return f"{self.kind} job {self.pk} ({self.status})"

    KIND_LABELS = {
        "artifact_scan": "Pickle scan",
        "storage_purge": "Storage clean-up",
        "notification": "Email notification",
    }

    @property
    def label(self) -> str:
        return self.KIND_LABELS.get(self.kind, self.kind.replace("_", " ").capitalize())

    @property
    def outcome(self) -> str:
        """What the badge says: a finished scan that found something is not a success to
        show in green, whatever the job's own status."""
        found = self.result if isinstance(self.result, dict) else {}
        if self.status == self.Status.SUCCEEDED and found.get("flagged"):
            return "flagged"
        if self.status == self.Status.SUCCEEDED and found.get("error"):
            return "error"
        return self.status

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}
