"""The minimal MLflow tracking record the mlflow client needs to log and register a model:
experiments, runs (params, metrics, tags), logged models, and the files uploaded through
the artifact proxy before they become a version's artifacts.

Runs are not registered models and carry no grants: a run, its logged models and its
uploaded files belong to the person who created them, and are seen by others only through
the registered model a version was registered into from them (`access.OwnedQuerySet`):

- a run: its creator, or whoever may view a model that has a version registered from it
  by the run's creator (`ModelVersion.run_id`; the creator condition means typing someone
  else's run id into a version's lineage links nothing);
- a logged model: its creator, whoever may see its source run, or whoever may view a model
  with a version registered from it (`source` `models:/<model id>`) by its creator;
- an uploaded (staged) file: its uploader, or whoever may see its run or logged model;
- an experiment: its creator, whoever may see a run or logged model in it; the Default
  experiment (id 0) is shared by everyone, its runs are not.

Only the creator writes (the Default experiment takes anyone's runs). What governance
reviews is the version registered from them, created through version_create."""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Concat

from governance.access import OwnedManager
from registry.models.records import ModelVersion

# MLflow's "Default" experiment: created on the first write into it, shared by everyone.
DEFAULT_EXPERIMENT_ID = 0


class Experiment(models.Model):
    # id 0 is MLflow's "Default" experiment, created on the first write into it.
    owner_field = "created_by"

    name = models.CharField(max_length=500, unique=True)
    artifact_location = models.CharField(max_length=1000, blank=True)
    lifecycle_stage = models.CharField(max_length=16, default="active")
    tags = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    creation_time = models.BigIntegerField(default=0)
    last_update_time = models.BigIntegerField(default=0)

    objects = OwnedManager()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name

    @classmethod
    def shared_rows(cls) -> Q:
        return Q(pk=DEFAULT_EXPERIMENT_ID)

    @classmethod
    def linked_rows(cls, user) -> Q:
        runs = Run.objects.restrict(user).filter(experiment=OuterRef("pk"))
        logged = LoggedModel.objects.restrict(user).filter(experiment=OuterRef("pk"))
        return Q(Exists(runs)) | Q(Exists(logged))


class Run(models.Model):
    owner_field = "user"

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

    objects = OwnedManager()

    class Meta:
        ordering = ["-start_time"]

    def __str__(self):
        return self.run_id

    @classmethod
    def linked_rows(cls, user) -> Q:
        versions = ModelVersion.objects.restrict(user, few_rows=True).filter(
            run_id=OuterRef("run_id"), created_by=OuterRef("user"), run_external=False
        )
        return Q(Exists(versions))


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
    owner_field = "created_by"

    model_id = models.CharField(max_length=40, unique=True)
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="logged_models"
    )
    name = models.CharField(max_length=250)
    source_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="logged_models"
    )
    # A source run in another tracking server: its id, as the client gave it (lineage only).
    external_source_run_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=32, default="LOGGED_MODEL_PENDING")
    model_type = models.CharField(max_length=100, blank=True)
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    creation_time = models.BigIntegerField(default=0)
    last_update_time = models.BigIntegerField(default=0)

    objects = OwnedManager()

    class Meta:
        ordering = ["-creation_time"]

    def __str__(self):
        return self.model_id

    @property
    def artifact_path(self) -> str:
        return f"{self.experiment_id}/models/{self.model_id}/artifacts"

    @classmethod
    def linked_rows(cls, user) -> Q:
        runs = Run.objects.restrict(user).filter(pk=OuterRef("source_run"))
        versions = ModelVersion.objects.restrict(user, few_rows=True).filter(
            source=Concat(Value("models:/"), OuterRef("model_id"), output_field=models.CharField()),
            created_by=OuterRef("created_by"),
        )
        return Q(Exists(runs)) | Q(Exists(versions))


class StagedArtifact(models.Model):
    """A file uploaded through the artifact proxy under a run or a logged model. Streamed
    and hashed like a form upload; copied into a version when one is registered from it."""

    owner_field = "created_by"

    path = models.CharField(max_length=1000, unique=True)
    storage_name = models.CharField(max_length=1000, unique=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The run or logged model the path is under (<experiment>/<run id>/artifacts/... or
    # <experiment>/models/<model id>/artifacts/...): who else may read the file.
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="staged_artifacts"
    )
    logged_model = models.ForeignKey(
        LoggedModel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staged_artifacts",
    )

    objects = OwnedManager()

    class Meta:
        ordering = ["path"]

    def __str__(self):
        return self.path

    @classmethod
    def linked_rows(cls, user) -> Q:
        runs = Run.objects.restrict(user).filter(pk=OuterRef("run"))
        logged = LoggedModel.objects.restrict(user).filter(pk=OuterRef("logged_model"))
        return Q(Exists(runs)) | Q(Exists(logged))
