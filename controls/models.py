"""The control library (frameworks, controls, the crosswalk), the evidence kept by hand for
controls, the readiness snapshots, and model risk management (validations and findings).

The library's rows are loaded from controls/library/*.yaml by `manage.py load_controls`
(controls/library.py); nothing else writes them. Every other row is written through
controls/services.py, with its audit event in the same transaction. Rows about an AI system
are read through `restrict()` (aisystems' SystemRecordQuerySet: the systems the user may see);
rows about a model through the registry's RestrictedManager.
"""

from datetime import date

from django.conf import settings
from django.db import models
from django.urls import reverse

from aisystems.models import AISystem, SystemRecordQuerySet
from governance.access import RestrictedManager
from registry.models import RegisteredModel


class Framework(models.Model):
    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=200)
    source = models.TextField()
    url = models.URLField(max_length=500)
    # SHA-256 of the YAML file last loaded: a rerun with the same file changes nothing.
    digest = models.CharField(max_length=64)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "key"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("controls:framework", args=[self.key])


class Control(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="controls")
    ref = models.CharField(max_length=60)
    title = models.CharField(max_length=300)
    group = models.CharField(max_length=200, blank=True)
    # The evidence rules (controls/rules.py); empty: the control is met by manual evidence only.
    rules = models.JSONField(default=list, blank=True)
    order = models.PositiveIntegerField(default=0)
    # Symmetric crosswalk links, stored once per pair (lower pk first).
    related = models.ManyToManyField("self", blank=True, symmetrical=True)

    class Meta:
        ordering = ["framework", "order"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "ref"], name="uniq_control_ref")
        ]

    def __str__(self):
        return f"{self.framework.key} {self.ref} {self.title}"

    @property
    def label(self) -> str:
        return f"{self.ref} {self.title}"


class ManualEvidence(models.Model):
    """Evidence kept by hand for one control of one AI system: a document (optional), what
    it shows, who owns it and when it must be reviewed again. Only ever added; the newest for a
    control is the one that counts. `kind` "access_review" also feeds the access review rule."""

    class Kind(models.TextChoices):
        DOCUMENT = "document", "Document"
        ACCESS_REVIEW = "access_review", "Access review"

    system = models.ForeignKey(AISystem, on_delete=models.CASCADE, related_name="+")
    control = models.ForeignKey(
        Control, null=True, blank=True, on_delete=models.CASCADE, related_name="manual_evidence"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DOCUMENT)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_on = models.DateField("next review")
    filename = models.CharField(max_length=255, blank=True)
    storage_name = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SystemRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.title

    def is_overdue(self, today: date | None = None) -> bool:
        return self.review_on < (today or date.today())


class NotApplicable(models.Model):
    """A control that does not apply to a system, and why. The newest row per control
    counts; `withdrawn` rows record that it applies again."""

    system = models.ForeignKey(AISystem, on_delete=models.CASCADE, related_name="+")
    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    withdrawn = models.BooleanField(default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SystemRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.control} not applicable to {self.system}"


class Snapshot(models.Model):
    """A system's readiness against one framework at one moment: the trend's points."""

    system = models.ForeignKey(AISystem, on_delete=models.CASCADE, related_name="+")
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="+")
    taken_at = models.DateTimeField(auto_now_add=True, db_index=True)
    counts = models.JSONField(default=dict)  # status -> number of controls
    statuses = models.JSONField(default=dict)  # control ref -> status

    objects = SystemRecordQuerySet.as_manager()

    class Meta:
        ordering = ["taken_at", "pk"]

    def __str__(self):
        return f"{self.system} / {self.framework.key} at {self.taken_at:%Y-%m-%d %H:%M}"


class Validation(models.Model):
    """An independent validation of a model (SR 11-7 V): who did it, when, its conclusion."""

    guarded_path = "registered_model"

    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="+"
    )
    validated_on = models.DateField()
    validator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    validator_username = models.CharField(max_length=150)
    independent = models.BooleanField(
        default=True, help_text="The validator did not build or own the model."
    )
    summary = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-validated_on", "-pk"]

    def __str__(self):
        return f"Validation of {self.registered_model} on {self.validated_on}"


class Finding(models.Model):
    guarded_path = "registered_model"

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Remediated"

    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="+"
    )
    validation = models.ForeignKey(
        Validation, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings"
    )
    title = models.CharField(max_length=300)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    remediate_by = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["status", "-severity", "remediate_by", "pk"]

    def __str__(self):
        return self.title

    def is_overdue(self, today: date | None = None) -> bool:
        return self.status == self.Status.OPEN and self.remediate_by < (today or date.today())
