from django.apps import AppConfig


class MlflowApiConfig(AppConfig):
    """The MLflow-compatible REST API: depends on registry and governance, owns no rule."""

    name = "mlflow_api"
    verbose_name = "MLflow API"
