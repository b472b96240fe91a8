"""Separation of duties (issue 13): changes that weaken a control are themselves governed.

The attacker is a governed user: a data scientist holding change (sam, dana) who tries to
lower a model's risk class, to weaken the policy of a pending request by withdrawing and
reopening it, or to take a version out of Production, so that @champion resolves to a
version that is no longer approved."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from governance.models import ApprovalPolicy, AuditEvent, TransitionRequest
from governance.services import (
    alias_set,
    decision_record,
    emergency_rollback,
    model_risk_class_set,
    transition_request_open,
    version_archive,
)
from registry.models import ModelAlias, Stage
from registry.services.mlflow_support import model_delete, version_delete
from tests.conftest import client_for
from tests.factories import make_version

P = "/api/2.0/mlflow/"


def _open(actor, version, target="Production", **kwargs):
    return transition_request_open(
        actor=actor, version=version, target_stage=target, justification="better", **kwargs
    )


def _approve(actor, request, reason="ok"):
    return decision_record(actor=actor, request=request, outcome="approve", reason=reason)


def _ready(version):
    version.artifacts.update(scan_status="clean")
    return version


@pytest.fixture
def no_card_for_high(db):
    """The default high-risk Production policy also asks for a model card; these tests are
    about approvals and groups, so the card gate is left out."""
    ApprovalPolicy.objects.filter(target_stage="Production", risk_class="high").update(
        require_model_card=False
    )


@pytest.fixture
def api(client):
    from governance.tokens import token_create

    def call(user, method, path, data=None):
        raw = token_create(actor=user, name="t", scope="write")[1]
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        if method == "get":
            return client.get(path, data or {}, **kwargs)
        return getattr(client, method)(path, data or {}, content_type="application/json", **kwargs)

    return call


@pytest.fixture
def in_production(scientist, approver, ready_version, model):
    """v1 in Production with @champion on it (approved by avery)."""
    _approve(approver, _open(scientist, ready_version))
    ready_version.refresh_from_db()
    alias_set(actor=approver, registered_model=model, alias="champion", version=ready_version)
    return ready_version


# --- Production leaves only through governance ---------------------------------------------


def test_change_only_cannot_archive_the_production_version(scientist, in_production, audit_count):
    before = audit_count()
    with pytest.raises(PermissionDenied, match="approve"):
        version_archive(actor=scientist, version=in_production, reason="make room")
    in_production.refresh_from_db()
    assert in_production.stage == Stage.PRODUCTION and audit_count() == before


def test_change_only_gets_403_on_the_archive_page_of_production(scientist, in_production, model):
    url = reverse("governance:version-archive", args=[model.name, in_production.version])
    client = client_for(scientist)
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "make room"}).status_code == 403
    in_production.refresh_from_db()
    assert in_production.stage == Stage.PRODUCTION
    page = client.get(in_production.get_absolute_url()).content.decode()
    assert url not in page  # the archive form is not offered


def test_change_only_cannot_archive_production_through_the_api(api, scientist, in_production):
    response = api(
        scientist,
        "post",
        P + "model-versions/transition-stage",
        {"name": "fraud-detector", "version": "1", "stage": "Archived"},
    )
    assert response.status_code == 403 and response.json()["error_code"] == "PERMISSION_DENIED"
    in_production.refresh_from_db()
    assert in_production.stage == Stage.PRODUCTION


def test_change_may_still_archive_a_version_not_in_production(scientist, model, ready_version):
    version_archive(actor=scientist, version=ready_version, reason="superseded")
    ready_version.refresh_from_db()
    assert ready_version.stage == Stage.ARCHIVED


def test_an_approver_archives_production_and_champion_is_removed(
    approver, in_production, model, audit_count
):
    before = audit_count()
    version_archive(actor=approver, version=in_production, reason="withdrawn from service")
    in_production.refresh_from_db()
    assert in_production.stage == Stage.ARCHIVED
    assert not ModelAlias.objects.filter(alias="champion").exists()
    actions = list(AuditEvent.objects.order_by("-id").values_list("action", "actor_username")[:2])
    assert set(actions) == {("alias.delete", "avery"), ("version.archive", "avery")}
    assert audit_count() == before + 2


def test_an_approver_archives_production_through_the_ui(approver, in_production, model):
    url = reverse("governance:version-archive", args=[model.name, in_production.version])
    response = client_for(approver).post(url, {"reason": "withdrawn"})
    assert response.status_code == 302
    in_production.refresh_from_db()
    assert in_production.stage == Stage.ARCHIVED


def test_promotion_moves_champion_to_the_new_production_version(
    scientist, approver, second_approver, in_production, model
):
    v2 = _ready(make_version(scientist, model))
    _approve(second_approver, _open(scientist, v2))  # archives v1
    in_production.refresh_from_db()
    assert in_production.stage == Stage.ARCHIVED
    alias = ModelAlias.objects.get(alias="champion")
    assert alias.model_version_id == v2.pk
    event = AuditEvent.objects.filter(action="alias.move").latest("id")
    assert event.actor_username == "bea"
    assert (event.before["version"], event.after["version"]) == (1, 2)


def test_promotion_keeping_the_old_version_leaves_champion(
    scientist, second_approver, in_production, model
):
    v2 = _ready(make_version(scientist, model))
    _approve(second_approver, _open(scientist, v2, archive_previous=False))
    assert ModelAlias.objects.get(alias="champion").model_version_id == in_production.pk


def test_rollback_moves_champion_back(scientist, approver, second_approver, in_production, model):
    v2 = _ready(make_version(scientist, model))
    _approve(second_approver, _open(scientist, v2))
    emergency_rollback(actor=approver, registered_model=model, reason="v2 drifts")
    alias = ModelAlias.objects.get(alias="champion")
    assert alias.model_version_id == in_production.pk
    in_production.refresh_from_db()
    assert in_production.stage == Stage.PRODUCTION


def test_demotion_to_staging_removes_champion_when_nothing_else_is_live(
    scientist, second_approver, in_production
):
    _approve(second_approver, _open(scientist, in_production, target="Staging"))
    in_production.refresh_from_db()
    assert in_production.stage == Stage.STAGING
    assert not ModelAlias.objects.filter(alias="champion").exists()


def test_unprotected_aliases_stay_where_they_are(scientist, approver, in_production, model):
    alias_set(actor=scientist, registered_model=model, alias="candidate", version=in_production)
    version_archive(actor=approver, version=in_production, reason="withdrawn")
    assert ModelAlias.objects.get(alias="candidate").model_version_id == in_production.pk


def test_api_never_resolves_a_protected_alias_to_a_version_outside_production(
    api, scientist, in_production, model
):
    url = P + "registered-models/alias"
    response = api(scientist, "get", url, {"name": model.name, "alias": "champion"})
    assert response.status_code == 200 and response.json()["model_version"]["version"] == "1"
    # A stale row (written around the services, e.g. by SQL): never served.
    type(in_production).objects.filter(pk=in_production.pk).update(stage=Stage.ARCHIVED)
    response = api(scientist, "get", url, {"name": model.name, "alias": "champion"})
    assert response.status_code == 404
    assert "not in Production" in response.json()["message"]


def test_deleting_production_is_refused_even_to_managers(scientist, in_production, model):
    with pytest.raises(PermissionDenied):
        version_delete(actor=scientist, version=in_production)
    with pytest.raises(PermissionDenied):
        model_delete(actor=scientist, registered_model=model)
    assert ModelAlias.objects.filter(alias="champion").exists()


# --- A pending request keeps the stricter policy ----------------------------------------------


def test_pending_request_is_decided_under_the_stricter_current_policy(
    scientist, approver, compliance_officer, second_approver, ready_version, model, no_card_for_high
):
    request = _open(scientist, ready_version)  # limited: "any" policy, one approval
    assert request.policy["required_approvals"] == 1
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="high", rationale="credit use"
    )  # raising with nothing in Staging/Production is immediate
    _approve(approver, request)
    request.refresh_from_db()
    ready_version.refresh_from_db()
    assert request.is_pending and ready_version.stage == Stage.NONE
    _approve(second_approver, request)
    request.refresh_from_db()
    assert request.is_pending, "two approvals but none from Compliance"
    _approve(compliance_officer, request)
    request.refresh_from_db()
    ready_version.refresh_from_db()
    assert request.status == TransitionRequest.Status.APPROVED
    assert ready_version.stage == Stage.PRODUCTION


def test_request_page_shows_the_effective_policy(
    scientist, approver, ready_version, model, no_card_for_high
):
    request = _open(scientist, ready_version)
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="high", rationale="credit use"
    )
    page = client_for(approver).get(request.get_absolute_url()).content.decode()
    assert "0 of 2 approvals" in page and "Compliance" in page
    assert "stricter" in page
