from django.urls import path

from registry.views import models, versions

app_name = "registry"

urlpatterns = [
    path("models/", models.model_list, name="model-list"),
    path("models/new/", models.model_create_view, name="model-create"),
    path("models/<str:name>/", models.model_detail, name="model-detail"),
    path("models/<str:name>/edit/", models.model_edit_view, name="model-edit"),
    path("models/<str:name>/versions/new/", versions.version_create_view, name="version-create"),
    path(
        "models/<str:name>/versions/<int:number>/", versions.version_detail, name="version-detail"
    ),
    path(
        "models/<str:name>/versions/<int:number>/artifacts/",
        versions.scan_panel,
        name="artifact-panel",
    ),
    path(
        "models/<str:name>/versions/<int:number>/artifacts/<int:artifact_id>/download/",
        versions.artifact_download,
        name="artifact-download",
    ),
    path("jobs/<int:job_id>/", versions.job_status, name="job-status"),
]
