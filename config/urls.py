"""The project's URLs: each app's conf, and the health probe (config's own).

Order matters where two confs could match one path: aisystems' api/attest/ comes before
mlflow_api's catch-all for unknown api/ paths; otherwise each app answers under its own
words."""

from django.urls import include, path

from config.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("identity.urls")),  # sign-in and sign-out (single sign-on aware), two-factor
    path("", include("aisystems.urls")),  # before mlflow_api: its catch-all takes api/
    path("", include("controls.urls")),  # before registry: models/<name>/model-risk/
    path("", include("mlflow_api.urls")),
    path("", include("registry.urls")),
    path("", include("governance.urls")),
]
