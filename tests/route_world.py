"""One small registry with every kind of object a route can name, and one user per role.

The route matrix (tests/matrix.py: ROUTES) requests every URL of the UI and the API as
each of these users. Everything is made through the services and the API, as the
application makes it, so the objects are what a real deployment holds."""

import json
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.models import Job
from governance import access
from governance.models import PersonalToken, Report, TransitionRequest
from governance.reports.scope import ReportScope
from governance.services import model_risk_class_set
from governance.services.compliance import compliance_document_upload
from governance.services.reports import report_request
from governance.services.risk import risk_class_request_open
from governance.services.tokens import token_create
from governance.services.transitions import transition_request_open
from governance.services.webhooks import webhook_create
from tests.factories import make_model, make_team, make_user, make_version

# The roles of the matrix, in the order the tests request them.
ROLES = ("anonymous", "no_grant", "auditor", "scientist", "manager", "approver", "admin")

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class World:
    users: dict
    tokens: dict
    model: object
    version: object
    request: object
    risk_request: object
    job: object
    report: object
    document: object
    webhook: object
    artifact: object
    experiment_id: str = ""
    run_id: str = ""
    logged_model_id: str = ""
    extra: dict = field(default_factory=dict)


def _api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def _api_post(client: Client, path: str, body: dict) -> dict:
    response = client.post(path, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return response.json()


def build_world(settings) -> World:
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = True
    team = make_team("Fraud analytics")
    manager = make_user("dana", access.ROLE_DATA_SCIENTISTS, team.name)
    users = {
        "anonymous": None,
        "no_grant": make_user("olga", access.ROLE_DATA_SCIENTISTS, "Other team"),
        "auditor": make_user("aude", access.ROLE_AUDITORS),
        "scientist": make_user("sam", access.ROLE_DATA_SCIENTISTS, team.name),
        "manager": manager,
        "approver": make_user("avery", access.ROLE_APPROVERS),
        "admin": make_user("ada", access.ROLE_REGISTRY_ADMINS),
    }
    model = make_model(manager, name="fraud-detector", team=team, description="Card fraud")
    access.grant(model, "change", user=users["scientist"])
    access.grant(model, "approve", user=users["approver"])
    model_risk_class_set(
        actor=manager, registered_model=model, risk_class="minimal", rationale="Internal tool"
    )
    version = make_version(manager, model)
    request = transition_request_open(
        actor=manager, version=version, target_stage="Staging", justification="Ready for staging"
    )
    risk_request = risk_class_request_open(
        actor=manager, registered_model=model, risk_class="high", rationale="Scores people"
    )
    tokens = {}
    for role, user in users.items():
        if user is None:
            continue
        scope = PersonalToken.Scope.READ if role == "auditor" else PersonalToken.Scope.WRITE
        tokens[role] = token_create(actor=user, name="matrix", scope=scope)[1]
    report = report_request(
        actor=manager,
        kind=Report.Kind.INVENTORY,
        fmt="json",
        scope=ReportScope(model=model),
    )
    document = compliance_document_upload(
        actor=manager,
        model_version=version,
        kind="declaration_of_conformity",
        upload=SimpleUploadedFile("doc.pdf", MINIMAL_PDF, content_type="application/pdf"),
    )
    webhook, _ = webhook_create(
        actor=manager,
        name="matrix",
        url="http://127.0.0.1:9/hook",
        events=["transition.requested"],
        registered_model=model,
    )
    world = World(
        risk_request=risk_request,
        users=users,
        tokens=tokens,
        model=model,
        version=version,
        request=request,
        job=Job.objects.filter(model_version_id=version.pk).order_by("-pk").first(),
        report=report,
        document=document,
        webhook=webhook,
        artifact=version.artifacts.get(),
    )
    _add_tracking(world)
    assert TransitionRequest.objects.filter(pk=request.pk, status="pending").exists()
    return world


def _add_tracking(world: World) -> None:
    """An experiment, a run and a logged model of the manager's, made through the API."""
    client = _api(world.tokens["manager"])
    base = "/api/2.0/mlflow"
    world.experiment_id = _api_post(client, f"{base}/experiments/create", {"name": "matrix-exp"})[
        "experiment_id"
    ]
    run = _api_post(client, f"{base}/runs/create", {"experiment_id": world.experiment_id})
    world.run_id = run["run"]["info"]["run_id"]
    _api_post(client, f"{base}/runs/log-metric", {"run_id": world.run_id, "key": "auc", "value": 1})
    logged = _api_post(
        client,
        f"{base}/logged-models",
        {"experiment_id": world.experiment_id, "name": "m", "source_run_id": world.run_id},
    )
    world.logged_model_id = logged["model"]["info"]["model_id"]


def add_matrix_extras(world: World) -> None:
    """What some rows act on: the manager's token row, an alias and a model tag to delete."""
    from governance.services.aliases import alias_set

    manager = world.users["manager"]
    world.extra["manager_token"] = PersonalToken.objects.filter(user=manager).get()
    alias_set(
        actor=manager, registered_model=world.model, alias="challenger", version=world.version
    )
    _api_post(
        _api(world.tokens["manager"]),
        "/api/2.0/mlflow/registered-models/set-tag",
        {"name": world.model.name, "key": "owner", "value": "fraud team"},
    )
    _add_ai_system(world)
    _add_service_account(world)
    _add_access_review(world)


def _add_service_account(world: World) -> None:
    """The manager's team's service account, with one token."""
    from governance.services.service_accounts import (
        service_account_create,
        service_account_token_create,
    )

    manager = world.users["manager"]
    account = service_account_create(actor=manager, team=world.model.team, username="svc-matrix")
    world.extra["service_account"] = account
    world.extra["service_token"] = service_account_token_create(
        actor=manager, account=account, name="pipeline", scope="read"
    )[0]


def _add_ai_system(world: World) -> None:
    """An AI system built from the world's model, the manager's."""
    from aisystems.services import system_create

    world.extra["ai_system"] = system_create(
        actor=world.users["manager"],
        data={
            "name": "fraud-screening",
            "intended_purpose": "Screen card payments for fraud before authorisation.",
            "provider_name": "Attest Bank SA",
            "provider_address": "1 Rue du Test, Luxembourg",
        },
        registered_models=[world.model],
    )
    _add_registers(world)
    _add_controls(world)


def _add_controls(world: World) -> None:
    """The control library, and one piece of manual evidence on the world's AI system."""
    from datetime import date

    from controls import library, services
    from controls.models import Control

    library.load()
    world.extra["control"] = Control.objects.get(framework__key="eu-ai-act", ref="Art. 12")
    world.extra["evidence"] = services.manual_evidence_add(
        actor=world.users["manager"],
        system=world.extra["ai_system"],
        control=world.extra["control"],
        kind="document",
        data={"title": "Logging design", "review_on": date(2030, 1, 1)},
    )


def _add_registers(world: World) -> None:
    """One entry in every register of the world's AI system, the manager's."""
    from datetime import date, timedelta

    from django.utils import timezone

    from aisystems.registers.services import entry_create, observation_record
    from aisystems.registers.specs import BY_KIND

    manager, system = world.users["manager"], world.extra["ai_system"]
    now = timezone.now()
    data = {
        "risks": {
            "title": "Bias",
            "hazard": "Unfair refusals",
            "likelihood": 3,
            "severity": 4,
            "review_on": date.today() + timedelta(days=30),
        },
        "incidents": {
            "title": "Wrong refusals",
            "description": "A batch was refused",
            "category": "fundamental_rights",
            "occurred_at": now - timedelta(days=2),
            "aware_at": now - timedelta(days=1),
        },
        "monitoring": {
            "title": "Precision",
            "plan": "Daily",
            "metric_key": "precision",
            "lower_threshold": 0.8,
        },
        "datasets": {
            "title": "Payments 2025",
            "provenance": "Core banking",
            "collection": "Exports",
        },
        "fria": {
            "title": "FRIA 2026",
            "processes": "Card payments",
            "period_frequency": "Daily",
            "affected_persons": "Card holders",
            "risks_of_harm": "Refusals",
            "human_oversight": "Analyst review",
            "measures": "Appeals",
        },
        "conformity": {"title": "Annex VI", "route": "annex_vi"},
    }
    for kind, values in data.items():
        world.extra[f"register_{kind}"] = entry_create(
            actor=manager, spec=BY_KIND[kind], system=system, data=values
        )
    observation_record(
        actor=manager,
        metric=world.extra["register_monitoring"],
        value=0.9,
        model_version=world.version,
    )


def _add_access_review(world: World) -> None:
    """An open access review; its item for the scientist's change grant."""
    from governance.services.access_reviews import review_open

    review = review_open(actor=world.users["admin"])
    world.extra["access_review"] = review
    world.extra["access_review_item"] = review.items.get(
        kind="grant", user=world.users["scientist"], permission="change"
    )
