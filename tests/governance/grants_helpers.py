"""Helpers shared by the separation-of-duties tests (test_grants_separation*.py)."""

from django.contrib.auth.models import Group
from django.urls import reverse

from governance import access
from governance.models import AuditEvent
from governance.services import model_risk_class_set, transition_request_open
from registry.models import RegisteredModel

APPROVE = access.codename("approve", RegisteredModel)


def ready(model, version):
    model_risk_class_set(
        actor=model.created_by, registered_model=model, risk_class="limited", rationale="x"
    )
    version.artifacts.update(scan_status="clean")
    return version


def role(name):
    return Group.objects.get_or_create(name=name)[0]


def open_production(actor, version):
    return transition_request_open(
        actor=actor, version=version, target_stage="Production", justification="Better AUC"
    )


def grant_events():
    return AuditEvent.objects.filter(action__startswith="grant.").count()


def admin_url(model_cls, view, *args):
    meta = model_cls._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def model_permission(action):
    from django.contrib.auth.models import Permission

    return Permission.objects.get(
        codename=access.codename(action, RegisteredModel), content_type__app_label="registry"
    )
