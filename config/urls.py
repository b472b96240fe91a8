"""The project's URLs: each app's conf, and the health probe (config's own).

Order matters only where two confs could match one path; none do today: mlflow_api
answers under api/, registry and governance under their own words."""

from django.urls import include, path

from config.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("mlflow_api.urls")),
    path("", include("registry.urls")),
    path("", include("governance.urls")),
]
