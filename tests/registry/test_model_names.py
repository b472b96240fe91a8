"""Registered model names are unique without regard to case, and the database says so
(issue 16): a UniqueConstraint on Lower("name"), a typed ModelNameTaken from the services,
shown beside the form's name field and answered RESOURCE_ALREADY_EXISTS by the API."""

from importlib import import_module

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from governance.models import AuditEvent
from governance.services.tokens import token_create
from registry.models import RegisteredModel
from registry.models.records import MODEL_NAME_CI_CONSTRAINT
from registry.services import model_create
from registry.services.mlflow_support import model_rename
from registry.services.models import ModelNameTaken
from tests.conftest import client_for
from tests.factories import make_model

API = "/api/2.0/mlflow/registered-models/"
MIGRATION = "registry.migrations.0013_rrules_model_name_ci"


def _api(user, path, body):
    raw = token_create(actor=user, name="pipeline", scope="write")[1]
    return client_for(None).post(
        API + path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )


def test_the_database_refuses_a_name_differing_only_by_case(model):
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisteredModel.objects.create(name="FRAUD-Detector", team=model.team)


def test_the_service_raises_the_typed_error_and_writes_nothing(scientist, team, model):
    before = AuditEvent.objects.count()
    with pytest.raises(ModelNameTaken) as exc:
        model_create(actor=scientist, name="Fraud-Detector", team=team)
    assert exc.value.message_dict == {"name": ["A model named 'Fraud-Detector' already exists."]}
    assert RegisteredModel.objects.count() == 1 and AuditEvent.objects.count() == before


def test_the_form_shows_it_beside_the_name_and_keeps_the_input(scientist, team, model):
    response = client_for(scientist).post(
        reverse("registry:model-create"),
        {"name": "FRAUD-detector", "team": team.pk, "description": "my words", "tags": "k=v"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {"name": ["A model named 'FRAUD-detector' already exists."]}
    html = response.content.decode()
    assert 'value="FRAUD-detector"' in html and "my words" in html and "k=v" in html


def test_the_api_answers_resource_already_exists(scientist, model):
    response = _api(scientist, "create", {"name": "Fraud-DETECTOR"})
    assert response.status_code == 400
    assert response.json() == {
        "error_code": "RESOURCE_ALREADY_EXISTS",
        "message": "Registered Model (name=Fraud-DETECTOR) already exists.",
    }


def test_rename_onto_another_models_name_is_refused_but_a_change_of_case_is_not(scientist, model):
    other = make_model(scientist, name="churn")
    with pytest.raises(ModelNameTaken):
        model_rename(actor=scientist, registered_model=other, new_name="Fraud-Detector")
    response = _api(scientist, "rename", {"name": "churn", "new_name": "FRAUD-DETECTOR"})
    assert response.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    other.refresh_from_db()
    assert other.name == "churn"
    renamed = model_rename(actor=scientist, registered_model=model, new_name="Fraud-Detector")
    assert renamed.name == "Fraud-Detector"
    assert AuditEvent.objects.filter(action="model.rename").count() == 1


def test_the_migration_stops_on_names_differing_by_case_and_names_them(scientist, team, model):
    """Existing rows that clash are not renamed behind anyone's back: the migration fails
    with a message naming them, and changes nothing."""
    migration = import_module(MIGRATION)
    ops = [type(op).__name__ for op in migration.Migration.operations]
    assert ops == ["RunPython", "AddConstraint"]  # the check runs before the constraint
    migration.refuse_names_differing_by_case(apps, None)  # no clash: passes
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(f"DROP INDEX {MODEL_NAME_CI_CONSTRAINT}")
    RegisteredModel.objects.create(name="Fraud-Detector", team=team)
    RegisteredModel.objects.create(name="churn", team=team)
    with pytest.raises(migration.DuplicateModelNames) as exc:
        migration.refuse_names_differing_by_case(apps, None)
    message = str(exc.value)
    assert f"'Fraud-Detector' (id {model.pk + 1})" in message
    assert f"'fraud-detector' (id {model.pk})" in message
    assert "churn" not in message and "Nothing was changed" in message
    assert RegisteredModel.objects.filter(name__iexact="fraud-detector").count() == 2


# --- Two creations at once (PostgreSQL) -------------------------------------------------------


@pytest.mark.postgres
def test_two_creations_differing_by_case_at_once_one_wins(transactional_db, scientist, team):
    from tests.governance.test_concurrency import run_together

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI does)")
    before = AuditEvent.objects.filter(action="model.create").count()
    results = run_together(
        lambda: model_create(actor=scientist, name="Fraud", team=team),
        lambda: model_create(actor=scientist, name="fraud", team=team),
    )
    created = [r for r in results if isinstance(r, RegisteredModel)]
    refused = [r for r in results if isinstance(r, ModelNameTaken)]
    assert len(created) == 1 and len(refused) == 1, results
    assert refused[0].taken in {"Fraud", "fraud"} and refused[0].taken != created[0].name
    assert list(RegisteredModel.objects.values_list("name", flat=True)) == [created[0].name]
    events = AuditEvent.objects.filter(action="model.create")
    assert events.count() == before + 1
    assert events.latest("pk").after["name"] == created[0].name
