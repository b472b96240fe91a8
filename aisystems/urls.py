from django.urls import path

from aisystems import api, views
from aisystems.registers import api as register_api
from aisystems.registers import views as registers

app_name = "aisystems"

R = "ai-systems/<int:pk>/registers/<slug:kind>/"

urlpatterns = [
    path("ai-systems/", views.system_list, name="system-list"),
    path("ai-systems/new/", views.system_create, name="system-create"),
    path("ai-systems/<int:pk>/", views.system_detail, name="system-detail"),
    path("ai-systems/<int:pk>/edit/", views.system_edit, name="system-edit"),
    path("ai-systems/<int:pk>/risk-class/", views.system_risk_class, name="system-risk-class"),
    path("ai-systems/<int:pk>/classify/", views.system_classify, name="system-classify"),
    path(
        "ai-systems/<int:pk>/technical-documentation/",
        views.system_techdoc,
        name="system-techdoc",
    ),
    path(
        "ai-systems/<int:pk>/instructions-for-use/",
        views.system_instructions,
        name="system-instructions",
    ),
    # Registers (Art. 9, 10, 27, 43-49, 72, 73): one set of pages for every register.
    path(R, registers.register_list, name="register-list"),
    path(R + "new/", registers.register_create, name="register-create"),
    path(R + "<int:entry_id>/", registers.register_detail, name="register-detail"),
    path(R + "<int:entry_id>/edit/", registers.register_edit, name="register-edit"),
    path(
        "ai-systems/<int:pk>/registers/incidents/<int:entry_id>/approve/",
        registers.incident_approve,
        name="incident-approve",
    ),
    path(
        "ai-systems/<int:pk>/registers/conformity/<int:entry_id>/declaration/",
        registers.conformity_declaration,
        name="conformity-declaration",
    ),
    path(
        "ai-systems/<int:pk>/registers/monitoring/<int:entry_id>/observations/",
        registers.observation_create,
        name="observation-create",
    ),
    path("api/attest/ai-systems/", api.api_system_list, name="api-system-list"),
    path("api/attest/ai-systems/<int:pk>/", api.api_system_detail, name="api-system-detail"),
    path(
        "api/attest/ai-systems/<int:pk>/technical-documentation/",
        api.api_system_techdoc,
        name="api-system-techdoc",
    ),
    path(
        "api/attest/ai-systems/<int:pk>/registers/<slug:kind>/",
        register_api.api_register_list,
        name="api-register-list",
    ),
    path(
        "api/attest/ai-systems/<int:pk>/observations/",
        register_api.api_observation_create,
        name="api-observation-create",
    ),
]
