from django.urls import path

from aisystems import api, views

app_name = "aisystems"

urlpatterns = [
    path("ai-systems/", views.system_list, name="system-list"),
    path("ai-systems/new/", views.system_create, name="system-create"),
    path("ai-systems/<int:pk>/", views.system_detail, name="system-detail"),
    path("ai-systems/<int:pk>/edit/", views.system_edit, name="system-edit"),
    path("ai-systems/<int:pk>/risk-class/", views.system_risk_class, name="system-risk-class"),
    path("ai-systems/<int:pk>/classify/", views.system_classify, name="system-classify"),
    path("api/attest/ai-systems/", api.api_system_list, name="api-system-list"),
    path("api/attest/ai-systems/<int:pk>/", api.api_system_detail, name="api-system-detail"),
]
