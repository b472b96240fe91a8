"""The minimal MLflow tracking record the mlflow client needs to log and register a model:
experiments, runs (params, metrics, tags), logged models, and the files uploaded through
the artifact proxy before they become a version's artifacts.

Runs are not registered models and carry no grants: a run, its logged models and its
uploaded files belong to the person who created them (registry admins see all). What
governance reviews is the version registered from them, created through version_create."""

from django.conf import settings
from django.db import models


class Experiment(models.Model):
    # id 0 is MLflow's "Default" experiment, created on first use.
    name = models.CharField(max_length=500, unique=True)
    artifact_location = models.CharField(max_length=1000, blank=True)
    lifecycle_stage = models.CharField(max_length=16, default="active")
    tags = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    creation_time = models.BigIntegerField(default=0)
    last_update_time = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class Run(models.Model):
    run_id = models.CharField(max_length=32, unique=True)
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="runs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=250, blank=True)
    status = models.CharField(max_length=16, default="RUNNING")
    start_time = models.BigIntegerField(default=0)
    end_time = models.BigIntegerField(null=True, blank=True)
    lifecycle_stage = models.CharField(max_length=16, default="active")
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    # Logged models this run produced: [{"model_id": ..., "step": ...}]
    outputs = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-start_time"]

    def __str__(self):
        return self.run_id


class RunMetric(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metrics")
    key = models.CharField(max_length=250)
    value = models.FloatField(null=True)
    timestamp = models.BigIntegerField(default=0)
    step = models.BigIntegerField(default=0)
    model_id = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["key", "timestamp", "step"]
        indexes = [models.Index(fields=["run", "key"], name="runmetric_run_key")]

    def __str__(self):
        return f"{self.key}={self.value}"


class LoggedModel(models.Model):
    model_id = models.CharField(max_length=40, unique=True)
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="logged_models"
    )
    name = models.CharField(max_length=250)
    source_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="logged_models"
    )
    status = models.CharField(max_length=32, default="LOGGED_MODEL_PENDING")
    model_type = models.CharField(max_length=100, blank=True)
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    creation_time = models.BigIntegerField(default=0)
    last_update_time = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-creation_time"]

    def __str__(self):
        return self.model_id

    @property
    def artifact_path(self) -> str:
        return f"{self.experiment_id}/models/{self.model_id}/artifacts"


class StagedArtifact(models.Model):
    """A file uploaded through the artifact proxy under a run or a logged model. Streamed
    and hashed like a form upload; copied into a version when one is registered from it."""

    path = models.CharField(max_length=1000, unique=True)
    storage_name = models.CharField(max_length=1000, unique=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]

    def __str__(self):
        return self.path
