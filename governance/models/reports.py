"""Generated reports and the compliance documents uploaded for them.

A Report row is written when someone asks for a report; a background job builds it, and
the file lands in the storage backend (local files or S3) under `storage_name`. Rows are
kept after their file expires (status "expired"), so the list still says what was made,
for whom and when.
"""

from django.apps import apps
from django.conf import settings
from django.db import models

from governance import access
from governance.access import OwnedManager, RestrictedManager


def _registered_models():
    """The guarded model's queryset, by label: governance's models import no registry code."""
    return apps.get_model("registry", "RegisteredModel").objects


class Report(models.Model):
    """Read through `Report.objects.restrict(user)` (access.OwnedQuerySet): its requester
    sees it while they may see the model it is about (or it is about none); those who read
    the whole registry's audit trail see every report."""

    owner_field = "requested_by"
    owner_needs_link = True

    class Kind(models.TextChoices):
        TECHNICAL_DOCUMENTATION = "technical_documentation", "Technical documentation"
        EVIDENCE_BUNDLE = "evidence_bundle", "Evidence bundle"
        AUDIT_REPORT = "audit_report", "Audit report"
        INVENTORY = "inventory", "Model inventory"
        AUDIT_EXPORT = "audit_export", "Audit trail export"

    class Format(models.TextChoices):
        HTML = "html", "HTML"
        PDF = "pdf", "PDF"
        JSON = "json", "JSON"
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"
        ZIP = "zip", "ZIP"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Generating"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    format = models.CharField(max_length=8, choices=Format.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    title = models.CharField(max_length=255)
    # What the report covers, as asked: model, version, period, team, risk class.
    scope = models.JSONField(default=dict, blank=True)
    # Plain ids (not foreign keys) so the row outlives its subject; reports about one
    # model are visible only while the viewer may still see that model.
    registered_model_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    model_version_id = models.BigIntegerField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_username = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(
        "core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    storage_name = models.CharField(max_length=500, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)  # of the file
    digest = models.CharField(max_length=64, blank=True)  # of the content (document.py)
    keep_until = models.DateField()
    # Document control (governance/reports/control.py), for the kinds that make documents:
    # which document this is a version of, its version number, the SHA-256 of its content
    # (cover facts and sections, not who or when), and each section's and item's SHA-256
    # so that the next version can say what changed.
    document_subject = models.CharField(max_length=80, blank=True, db_index=True)
    document_version = models.PositiveIntegerField(null=True, blank=True)
    document_content_digest = models.CharField(max_length=64, blank=True)
    section_digests = models.JSONField(default=dict, blank=True)
    # The block as printed (version, owner, previous version, change log, approvals): a
    # regeneration with the same content repeats its previous version and change log.
    document_control = models.JSONField(default=dict, blank=True)

    objects = OwnedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "keep_until"], name="report_retention")]

    def __str__(self):
        return f"{self.title} ({self.get_format_display()})"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("governance:report-detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status not in {self.Status.QUEUED, self.Status.RUNNING}

    @classmethod
    def linked_rows(cls, user) -> models.Q:
        """About no model, or about a model `user` may view."""
        visible = _registered_models().restrict(user, "view").values("pk")
        return models.Q(registered_model_id__isnull=True) | models.Q(
            registered_model_id__in=visible
        )

    @classmethod
    def sees_all_rows(cls, user) -> bool:
        """Readers of the audit log (auditors, registry admins) whose view is registry-wide:
        restrict() lifts its filter on every registered model for them."""
        readers = access.is_auditor(user) or access.is_registry_admin(user)
        return readers and _registered_models().sees_all(user, "view")


class ComplianceDocument(models.Model):
    """A document uploaded as evidence for a version, e.g. the signed EU declaration of
    conformity (Annex IV point 8). Documents are only ever added; the newest of a kind
    is the one a report uses."""

    guarded_path = "model_version__registered_model"

    class Kind(models.TextChoices):
        DECLARATION_OF_CONFORMITY = "declaration_of_conformity", "EU declaration of conformity"

    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.CASCADE, related_name="compliance_documents"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    filename = models.CharField(max_length=255)
    storage_name = models.CharField(max_length=500)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_by_username = models.CharField(max_length=150)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.model_version}"
