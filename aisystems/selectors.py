"""Every read of AI systems with rules: each starts from `restrict()`."""

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef
from django.shortcuts import get_object_or_404

from aisystems.models import AISystem, AISystemModel, Classification
from governance import access
from governance.models import RiskClassChangeRequest
from registry.models import ModelVersion, RegisteredModel


def systems_visible(user):
    return AISystem.objects.restrict(user, "view")


def system_list(user, *, q: str = "", risk_class: str = ""):
    rows = systems_visible(user).annotate(model_count=Count("memberships"))
    if q:
        rows = rows.filter(name__icontains=q)
    if risk_class:
        rows = rows.filter(risk_class=risk_class)
    return rows.order_by("name", "pk")


def system_get(user, pk: int, action: str = "view") -> AISystem:
    """404 unless the user can see it; 403 if they may see it but not `action` it."""
    system = get_object_or_404(systems_visible(user).select_related("owner"), pk=pk)
    if action != "view" and not AISystem.objects.filter(pk=pk).restrict(user, action).exists():
        raise PermissionDenied(f"You do not have {action} permission on {system}.")
    return system


def may(user, system: AISystem, action: str) -> bool:
    return AISystem.objects.filter(pk=system.pk).restrict(user, action).exists()


def member_models(user, system: AISystem) -> list:
    """The system's models the user may see, each with its pending risk request (if any).
    Members the user cannot see are counted, not named."""
    pending = RiskClassChangeRequest.objects.filter(
        registered_model=OuterRef("pk"), status=RiskClassChangeRequest.Status.PENDING
    )
    rows = (
        RegisteredModel.objects.restrict(user, "view")
        .filter(ai_system_memberships__system=system)
        .annotate(has_pending=Exists(pending))
        .order_by("name")
    )
    result = []
    for model in rows:
        model.pending_request = (
            RiskClassChangeRequest.objects.filter(
                registered_model=model, status=RiskClassChangeRequest.Status.PENDING
            ).first()
            if model.has_pending
            else None
        )
        result.append(model)
    return result


def hidden_member_count(user, system: AISystem, shown: int) -> int:
    return AISystemModel.objects.filter(system=system).count() - shown


def system_versions(user, system: AISystem):
    return (
        ModelVersion.objects.restrict(user, "view")
        .filter(ai_systems=system)
        .select_related("registered_model")
        .order_by("registered_model__name", "-version")
    )


def classifications(user, system: AISystem):
    return Classification.objects.restrict(user, "view").filter(system=system)


def classification_get(user, system: AISystem, pk: int) -> Classification:
    return get_object_or_404(classifications(user, system), pk=pk)


def model_choices(user):
    """Models the user may put in (or take out of) a system: those they may change."""
    return RegisteredModel.objects.restrict(user, "change").order_by("name")


def version_choices(user):
    return (
        ModelVersion.objects.restrict(user, "view")
        .filter(registered_model__in=model_choices(user).values("pk"))
        .select_related("registered_model")
        .order_by("registered_model__name", "-version")
    )


def is_auditor(user) -> bool:
    return access.is_auditor(user)
