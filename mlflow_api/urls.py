"""MLflow's REST paths, mapped to Attest's API views."""

from django.urls import path, re_path

from mlflow_api import registry_views as r
from mlflow_api import tracking_views as t
from mlflow_api.errors import endpoint_not_found

P = "api/2.0/mlflow/"

urlpatterns = [
    # Model registry
    path(P + "registered-models/create", r.registered_model_create),
    path(P + "registered-models/get", r.registered_model_get),
    path(P + "registered-models/rename", r.registered_model_rename),
    path(P + "registered-models/update", r.registered_model_update),
    path(P + "registered-models/delete", r.registered_model_delete),
    path(P + "registered-models/search", r.registered_model_search),
    path(P + "registered-models/list", r.registered_model_search),
    path(P + "registered-models/get-latest-versions", r.registered_model_latest_versions),
    path(P + "registered-models/set-tag", r.registered_model_set_tag),
    path(P + "registered-models/delete-tag", r.registered_model_delete_tag),
    path(P + "registered-models/alias", r.registered_model_alias),
    path(P + "model-versions/create", r.model_version_create),
    path(P + "model-versions/get", r.model_version_get),
    path(P + "model-versions/update", r.model_version_update),
    path(P + "model-versions/delete", r.model_version_delete),
    path(P + "model-versions/search", r.model_version_search),
    path(P + "model-versions/get-download-uri", r.model_version_download_uri),
    path(P + "model-versions/transition-stage", r.model_version_transition),
    path(P + "model-versions/set-tag", r.model_version_set_tag),
    path(P + "model-versions/delete-tag", r.model_version_delete_tag),
    # Tracking: what log_model and register_model use
    path(P + "experiments/get", t.experiment_get),
    path(P + "experiments/get-by-name", t.experiment_get_by_name),
    path(P + "experiments/create", t.experiment_create_view),
    path(P + "experiments/search", t.experiment_search),
    path(P + "runs/create", t.run_create_view),
    path(P + "runs/get", t.run_get),
    path(P + "runs/update", t.run_update_view),
    path(P + "runs/log-parameter", t.run_log_parameter),
    path(P + "runs/log-metric", t.run_log_metric),
    path(P + "runs/set-tag", t.run_set_tag),
    path(P + "runs/log-batch", t.run_log_batch),
    path(P + "runs/outputs", t.run_outputs),
    path(P + "runs/log-inputs", t.run_log_inputs),
    path(P + "metrics/get-history", t.metric_history),
    path(P + "logged-models", t.logged_model_create_view),
    path(P + "logged-models/search", t.logged_model_search),
    path(P + "logged-models/<str:model_id>", t.logged_model_detail),
    path(P + "logged-models/<str:model_id>/tags", t.logged_model_tags),
    path("api/3.0/mlflow/server-info", t.server_info),
    # The artifact proxy
    path("api/2.0/mlflow-artifacts/artifacts", t.artifact_list),
    re_path(r"^api/2\.0/mlflow-artifacts/artifacts/(?P<path>.+)$", t.artifact_file),
    # Anything else under /api/: MLflow's JSON 404 (keep this last)
    re_path(r"^api/", endpoint_not_found),
]
