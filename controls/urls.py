from django.urls import path

from controls import views

app_name = "controls"

S = "ai-systems/<int:pk>/readiness/"

urlpatterns = [
    path("controls/", views.framework_list, name="framework-list"),
    path("controls/<slug:key>/", views.framework_detail, name="framework"),
    path(S, views.system_readiness, name="system-readiness"),
    # Fixed words before <slug:key>/, which would take them for a framework.
    path(S + "not-applicable/", views.not_applicable, name="not-applicable"),
    path(S + "<slug:key>/", views.system_framework, name="system-framework"),
    path(S + "<slug:key>/export.<str:fmt>", views.system_export, name="system-export"),
    path(S + "<slug:key>/snapshot/", views.snapshot_create, name="snapshot-create"),
    path(S + "evidence/new/", views.evidence_create, name="evidence-create"),
    path(S + "evidence/<int:evidence_id>/", views.evidence_detail, name="evidence-detail"),
    path("models/<str:name>/model-risk/", views.model_risk, name="model-risk"),
]
