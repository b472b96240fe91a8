"""The record: registered models, their versions and everything a version carries."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from governance.access import RestrictedManager

# Spaces inside a name are allowed (MLflow allows them: "UpdateRMTest 2"); page URLs carry
# them percent-encoded. Not leading or trailing, so a name cannot hide behind whitespace.
MODEL_NAME_RE = r"^[A-Za-z0-9](?:[A-Za-z0-9._ -]{0,126}[A-Za-z0-9._-])?$"
model_name_validator = RegexValidator(
    MODEL_NAME_RE,
    "Use 1-128 letters, digits, spaces, dots, dashes or underscores, starting with a letter or"
    " digit and not ending with a space.",
)


MODEL_NAME_CI_CONSTRAINT = "registry_model_name_ci"


class Stage(models.TextChoices):
    NONE = "None", "None"
    STAGING = "Staging", "Staging"
    PRODUCTION = "Production", "Production"
    ARCHIVED = "Archived", "Archived"


class RiskClass(models.TextChoices):
    UNCLASSIFIED = "unclassified", "Unclassified"
    MINIMAL = "minimal", "Minimal"
    LIMITED = "limited", "Limited"
    HIGH = "high", "High"


class RegisteredModel(models.Model):
    guarded_path = ""  # this is the model that carries the grants

    name = models.CharField(max_length=128, unique=True, validators=[model_name_validator])
    description = models.TextField(blank=True)
    team = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="registered_models")
    risk_class = models.CharField(
        max_length=16, choices=RiskClass.choices, default=RiskClass.UNCLASSIFIED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    latest_version_number = models.PositiveIntegerField(default=0)
    # Denormalised text for full-text search (name, description, tags, team, owner and
    # version metadata), kept current by the services; indexed by FTS5 or a GIN index.
    search_text = models.TextField(blank=True, editable=False)

    objects = RestrictedManager()

    class Meta:
        ordering = ["name"]
        indexes = [
            # The list's sorts, each with the id that breaks its ties: a page of ids in
            # list order is read from the index alone (core.paging), and the index
            # serves the whole ORDER BY. (SQLite indexes carry the row id anyway.)
            models.Index(fields=["updated_at", "id"], name="model_updated_id"),
            models.Index(fields=["created_at", "id"], name="model_created_id"),
            models.Index(fields=["name", "id"], name="model_name_id"),
            models.Index(fields=["latest_version_number", "id"], name="model_versions_id"),
            # The same sorts within one team, for the team filter: the filter and the order
            # are one index range, where a sort index alone would walk every team's models
            # to find the first page of a team whose models the user cannot see.
            models.Index(fields=["team", "updated_at", "id"], name="model_team_updated_id"),
            models.Index(fields=["team", "created_at", "id"], name="model_team_created_id"),
            models.Index(fields=["team", "name", "id"], name="model_team_name_id"),
            models.Index(
                fields=["team", "latest_version_number", "id"], name="model_team_versions_id"
            ),
            # A narrow copy of (id, team) for queries that start from a list of granted ids
            # (counts, the team filter): on SQLite a lookup by id would otherwise read the
            # wide row (description, search text) just to confirm it exists.
            models.Index(fields=["id", "team"], name="model_id_team"),
        ]
        constraints = [
            # Names are unique without regard to case ("Fraud" and "fraud" would be one
            # model to a person and to case-blind lookups): the database decides, so two
            # creations at once cannot both succeed (services raise ModelNameTaken).
            models.UniqueConstraint(Lower("name"), name=MODEL_NAME_CI_CONSTRAINT),
        ]
        permissions = [
            ("approve_registeredmodel", "Can approve stage transitions"),
            ("manage_registeredmodel", "Can manage access"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("registry:model-detail", args=[self.name])


class RegisteredModelUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "permission"], name="rm_userperm_user")]


class RegisteredModelGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["group", "permission"], name="rm_groupperm_group")]


class ModelTag(models.Model):
    guarded_path = "registered_model"

    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="tags"
    )
    key = models.CharField(max_length=250)
    value = models.CharField(max_length=5000, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "key"], name="uniq_model_tag")
        ]
        indexes = [models.Index(fields=["key", "registered_model"], name="model_tag_key")]

    def __str__(self):
        return f"{self.key}={self.value}" if self.value else self.key


class ModelVersion(models.Model):
    guarded_path = "registered_model"

    class Status(models.TextChoices):
        PENDING = "PENDING_REGISTRATION", "Pending registration"
        READY = "READY", "Ready"
        FAILED = "FAILED_REGISTRATION", "Failed registration"

    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField()
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.NONE)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.READY)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when an approved request first moves this version to Production (governance
    # writes it); emergency rollbacks return to the newest such version, and the model
    # card locks from then on.
    production_approved_at = models.DateTimeField(null=True, blank=True)
    # Lineage: immutable once the version exists.
    source = models.CharField(max_length=1000, blank=True, help_text="Artifact source URI")
    run_id = models.CharField(max_length=100, blank=True, db_index=True)
    run_link = models.URLField(max_length=1000, blank=True)
    # run_id names a run Attest does not hold (the team's own tracking server, with Attest
    # as the registry only): recorded as the pipeline's claim, never linked to a run here.
    run_external = models.BooleanField(default=False)
    code_repository = models.CharField(max_length=500, blank=True)
    code_commit = models.CharField(max_length=100, blank=True)
    dataset_name = models.CharField(max_length=250, blank=True)
    dataset_version = models.CharField(max_length=100, blank=True)
    dataset_uri = models.CharField(max_length=1000, blank=True)
    dataset_hash = models.CharField(max_length=200, blank=True)
    framework = models.CharField(max_length=100, blank=True, db_index=True)
    framework_version = models.CharField(max_length=50, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["registered_model", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["registered_model", "version"], name="uniq_model_version"
            )
        ]
        indexes = [
            models.Index(fields=["registered_model", "stage"], name="version_model_stage"),
            models.Index(fields=["stage", "registered_model"], name="version_stage_model"),
            # The case-insensitive framework filter: the models that have such a version.
            # `framework` itself is in it too, so SQLite (before 3.41) treats it as covering.
            models.Index(
                Lower("framework"),
                F("registered_model"),
                F("framework"),
                name="version_framework_ci",
            ),
        ]

    LINEAGE_FIELDS = (
        "source",
        "run_id",
        "run_link",
        "code_repository",
        "code_commit",
        "dataset_name",
        "dataset_version",
        "dataset_uri",
        "dataset_hash",
        "framework",
        "framework_version",
    )

    def __str__(self):
        return f"{self.registered_model.name} v{self.version}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("registry:version-detail", args=[self.registered_model.name, self.version])

    @property
    def lineage(self) -> dict:
        return {name: getattr(self, name) for name in self.LINEAGE_FIELDS}


class VersionTag(models.Model):
    guarded_path = "model_version__registered_model"

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="tags")
    key = models.CharField(max_length=250)
    value = models.CharField(max_length=5000, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "key"], name="uniq_version_tag")
        ]

    def __str__(self):
        return f"{self.key}={self.value}" if self.value else self.key


class Metric(models.Model):
    guarded_path = "model_version__registered_model"

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="metrics"
    )
    name = models.CharField(max_length=250)
    value = models.FloatField()
    # Optional evaluation dataset or slice ("test", "age>=65"); "" is the overall figure.
    dataset = models.CharField(max_length=250, blank=True)
    step = models.BigIntegerField(default=0)

    objects = RestrictedManager()

    class Meta:
        ordering = ["name", "dataset"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "name", "dataset"], name="uniq_version_metric"
            )
        ]

    def __str__(self):
        suffix = f" [{self.dataset}]" if self.dataset else ""
        return f"{self.name}{suffix}={self.value:g}"


class Param(models.Model):
    guarded_path = "model_version__registered_model"

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="params")
    key = models.CharField(max_length=250)
    value = models.CharField(max_length=6000, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "key"], name="uniq_version_param")
        ]

    def __str__(self):
        return f"{self.key}={self.value}"


class Artifact(models.Model):
    guarded_path = "model_version__registered_model"

    class ScanStatus(models.TextChoices):
        PENDING = "pending", "Scan pending"
        CLEAN = "clean", "Clean"
        FLAGGED = "flagged", "Flagged"
        ERROR = "error", "Scan failed"
        NOT_APPLICABLE = "not_applicable", "Not a pickle format"

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="artifacts"
    )
    path = models.CharField(max_length=500, help_text="Path within the version, sanitised")
    storage_name = models.CharField(max_length=1000, unique=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=200, blank=True)
    scan_status = models.CharField(
        max_length=16, choices=ScanStatus.choices, default=ScanStatus.PENDING
    )
    scan_findings = models.JSONField(default=list, blank=True)
    scanned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "path"], name="uniq_artifact_path")
        ]

    def __str__(self):
        return f"{self.model_version} {self.path}"


class ModelAlias(models.Model):
    guarded_path = "registered_model"

    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="aliases"
    )
    alias = models.CharField(max_length=128)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="aliases"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "model aliases"
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "alias"], name="uniq_model_alias")
        ]

    def __str__(self):
        return f"{self.registered_model.name}@{self.alias}"
