from django.urls import path

from registry.views import cards, compare, models, versions

app_name = "registry"

urlpatterns = [
    path("models/", models.model_list, name="model-list"),
    path("models/new/", models.ModelCreate.as_view(), name="model-create"),
    path("models/<str:name>/", models.model_detail, name="model-detail"),
    path("models/<str:name>/edit/", models.ModelEdit.as_view(), name="model-edit"),
    path(
        "models/<str:name>/versions/new/", versions.VersionCreate.as_view(), name="version-create"
    ),
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
    # Model cards
    path("models/<str:name>/versions/<int:number>/card/", cards.card_detail, name="card-detail"),
    path(
        "models/<str:name>/versions/<int:number>/card/edit/",
        cards.CardEdit.as_view(),
        name="card-edit",
    ),
    path(
        "models/<str:name>/versions/<int:number>/card/preview/",
        cards.card_preview,
        name="card-preview",
    ),
    path(
        "models/<str:name>/versions/<int:number>/card/history/",
        cards.card_revisions,
        name="card-revisions",
    ),
    path(
        "models/<str:name>/versions/<int:number>/card/import/",
        cards.CardImport.as_view(),
        name="card-import",
    ),
    path(
        "models/<str:name>/versions/<int:number>/card/README.md",
        cards.card_export_readme,
        name="card-export-readme",
    ),
    path(
        "models/<str:name>/versions/<int:number>/card/print/",
        cards.card_export_html,
        name="card-export-html",
    ),
    path(
        "models/<str:name>/versions/<int:number>/card/card.pdf",
        cards.card_export_pdf,
        name="card-export-pdf",
    ),
    # Version comparison
    path("models/<str:name>/compare/", compare.compare_view, name="compare"),
    path("models/<str:name>/compare/export.csv", compare.compare_csv, name="compare-csv"),
]
