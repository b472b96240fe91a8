"""Demo accounts and models for the embedded default. Everything goes through the
services, so the demo's history is in the audit trail like any other."""

import base64
import contextlib
import io
import json
import pickle
import secrets
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from governance import access, request_context
from registry.models import RegisteredModel
from registry.services import model_create, version_create
from registry.services.versions import UploadFile, VersionInput

TEAMS = ("Fraud analytics", "Credit risk", "Customer insights")
# Seeding that apps above governance add to the demo (aisystems registers its AI system
# here in its ready(), as card_gate registers a gate): each is called with the users.
DEMO_EXTENSIONS: list = []
ACCOUNTS = [
    # username, roles and teams, full name
    ("dana", [access.ROLE_DATA_SCIENTISTS, *TEAMS], "Dana Scientist"),
    ("sam", [access.ROLE_DATA_SCIENTISTS, "Credit risk"], "Sam Scientist"),
    ("avery", [access.ROLE_APPROVERS], "Avery Approver"),
    ("aude", [access.ROLE_AUDITORS], "Aude Auditor"),
    ("ada", [access.ROLE_REGISTRY_ADMINS], "Ada Admin"),
]

MODELS = [
    {
        "name": "fraud-detector",
        "team": "Fraud analytics",
        "owner": "dana",
        "description": "Gradient-boosted classifier that scores card transactions for fraud "
        "in real time.\n\n* Input: 42 transaction features\n* Output: fraud "
        "probability",
        "tags": {"domain": "payments", "pii": "yes"},
        "framework": ("scikit-learn", "1.5.2"),
        "dataset": "transactions-2025",
        "metrics": {"auc": 0.91, "precision": 0.82, "recall": 0.74},
        "params": {"n_estimators": "300", "max_depth": "6", "learning_rate": "0.05"},
        "versions": 4,
    },
    {
        "name": "credit-scoring",
        "team": "Credit risk",
        "owner": "sam",
        "description": "Probability of default for consumer loan applications. **High risk** "
        "under the EU AI Act (creditworthiness).",
        "tags": {"domain": "lending", "regulated": "eu-ai-act"},
        "framework": ("xgboost", "2.1.1"),
        "dataset": "applications-2024q4",
        "metrics": {"auc": 0.87, "ks": 0.52, "gini": 0.74},
        "params": {"eta": "0.1", "max_depth": "5", "subsample": "0.8"},
        "versions": 3,
    },
    {
        "name": "churn-predictor",
        "team": "Customer insights",
        "owner": "dana",
        "description": "Monthly churn propensity for subscription customers.",
        "tags": {"domain": "marketing"},
        "framework": ("lightgbm", "4.5.0"),
        "dataset": "subscribers-2025-09",
        "metrics": {"auc": 0.79, "f1": 0.61},
        "params": {"num_leaves": "31", "min_data_in_leaf": "50"},
        "versions": 3,
    },
    {
        "name": "document-classifier",
        "team": "Customer insights",
        "owner": "dana",
        "description": "Routes incoming customer documents to the right queue.",
        "tags": {"domain": "operations", "modality": "text"},
        "framework": ("pytorch", "2.4.1"),
        "dataset": "support-docs-v3",
        "metrics": {"accuracy": 0.93, "macro_f1": 0.88},
        "params": {"epochs": "8", "batch_size": "64", "base_model": "distilbert-base"},
        "versions": 2,
    },
    {
        "name": "aml-screening",
        "team": "Fraud analytics",
        "owner": "dana",
        "description": "Anti-money-laundering alert prioritisation.",
        "tags": {"domain": "compliance"},
        "framework": ("scikit-learn", "1.5.2"),
        "dataset": "aml-alerts-2025",
        "metrics": {"auc": 0.84, "alert_reduction": 0.37},
        "params": {"C": "0.5", "penalty": "l2"},
        "versions": 2,
    },
]


def demo_needed() -> bool:
    return not User.objects.exists()


def _artifacts(spec: dict, number: int) -> list[UploadFile]:
    framework, version = spec["framework"]
    mlmodel = (
        f"artifact_path: model\nflavors:\n  python_function:\n    loader_module: "
        f"mlflow.sklearn\n  {framework}:\n    version: {version}\n"
    )
    weights = pickle.dumps({"model": spec["name"], "version": number, "coef": [0.1 * number] * 8})
    meta = json.dumps({"features": 42, "trained_for": spec["name"]}, indent=2).encode()
    return [
        UploadFile(io.BytesIO(mlmodel.encode()), "MLmodel", "text/yaml"),
        UploadFile(io.BytesIO(weights), "model.pkl", "application/octet-stream"),
        UploadFile(io.BytesIO(meta), "metadata.json", "application/json"),
    ]


class DemoLogin(NamedTuple):
    password: str
    second_factor: str = ""  # the authenticator key and recovery codes of a decider


def _demo_second_factor(user) -> str:
    """Deciders must use a second factor: the demo enrols them, and the start prints the
    authenticator key and two one-time recovery codes beside the password (once)."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    recovery = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(2)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return f"2FA key {key}, recovery codes {' '.join(codes)}"


def create_demo(stdout=None) -> dict[str, DemoLogin]:
    """Create accounts (with fresh random passwords, returned) and demo models."""
    with request_context.audit_context(source="cli"):
        passwords = {}
        with transaction.atomic():
            for team in TEAMS:
                Group.objects.get_or_create(name=team)
            for username, groups, full_name in ACCOUNTS:
                password = secrets.token_urlsafe(9)
                first, last = full_name.split(" ", 1)
                user = User.objects.create_user(
                    username,
                    f"{username}@example.com",
                    password,
                    first_name=first,
                    last_name=last,
                )
                user.groups.set(Group.objects.filter(name__in=groups))
                second = set(groups) & set(settings.ATTEST_2FA_REQUIRED_ROLES)
                passwords[username] = DemoLogin(
                    password, _demo_second_factor(user) if second else ""
                )
        users = {u.username: u for u in User.objects.all()}
        for spec in MODELS:
            if RegisteredModel.objects.filter(name=spec["name"]).exists():
                continue
            owner = users[spec["owner"]]
            model = model_create(
                actor=owner,
                name=spec["name"],
                team=Group.objects.get(name=spec["team"]),
                description=spec["description"],
                tags=spec["tags"],
            )
            for number in range(1, spec["versions"] + 1):
                drift = (number - spec["versions"]) * 0.01
                metrics = [
                    {"name": k, "value": round(v + drift, 4), "dataset": ""}
                    for k, v in spec["metrics"].items()
                ]
                metrics.append(
                    {
                        "name": next(iter(spec["metrics"])),
                        "value": round(next(iter(spec["metrics"].values())) - 0.03, 4),
                        "dataset": "age>=65",
                    }
                )
                framework, framework_version = spec["framework"]
                version_create(
                    actor=owner,
                    registered_model=model,
                    data=VersionInput(
                        files=_artifacts(spec, number),
                        metrics=metrics,
                        params=spec["params"] | {"seed": str(40 + number)},
                        lineage={
                            "run_id": secrets.token_hex(16),
                            "code_repository": f"https://git.example.com/ml/{spec['name']}",
                            "code_commit": secrets.token_hex(20),
                            "dataset_name": spec["dataset"],
                            "dataset_version": f"v{number}",
                            "dataset_uri": f"s3://datasets/{spec['dataset']}/v{number}/",
                            "framework": framework,
                            "framework_version": framework_version,
                        },
                        tags={"trained_by": owner.username},
                        description=f"Retrained on {spec['dataset']} v{number}.",
                    ),
                )
        with _no_demo_mail():
            _demo_governance(users)
            for extend in DEMO_EXTENSIONS:
                extend(users)
        if stdout:
            stdout.write(f"Created {len(MODELS)} demo models.")
    return passwords


FRAUD_CARD = {
    "model_details": "Gradient-boosted trees over 42 transaction features, retrained monthly.",
    "intended_use": "Scores card transactions in real time so analysts review the riskiest.",
    "intended_purpose": "Decision support for the fraud operations team: a score per card "
    "transaction, reviewed by an analyst before any account action.",
    "out_of_scope": "Not for credit decisions, account closure without review, or "
    "transactions outside the EU card schemes it was trained on.",
    "factors": "Customer age band, card type and merchant category; age >= 65 is reported "
    "separately because of its lower recall.",
    "metrics": "AUC for ranking quality; precision and recall at the review threshold, "
    "because analysts review a fixed number of alerts a day.",
    "evaluation_data": "Hold-out of the last month of transactions, never seen in training.",
    "training_data": "Twelve months of labelled card transactions (chargebacks as labels), "
    "pseudonymised; duplicates and test cards removed.",
    "quantitative_analyses": "Recall is 3 points lower for customers aged 65 and over.",
    "ethical_considerations": "Pseudonymised personal data; no protected attributes are inputs.",
    "risks_limitations": "Drifts with new fraud patterns; lower recall for older customers.",
    "caveats_recommendations": "Revisit the threshold monthly; monitor recall by age band.",
    "human_oversight": "Every alert is reviewed by an analyst, who can override the score; "
    "operations can switch the model off and fall back to rules.",
    "risk_management": "Limited risk: decision support with a human in the loop. Risks are "
    "reviewed quarterly by the model risk committee.",
    "standards_applied": "ISO/IEC 23894:2023 (AI risk management); internal model risk policy.",
    "post_market_monitoring": "Weekly drift report on score distribution and recall by age "
    "band; incidents go to the model risk committee within 48 hours.",
    "contact": "fraud-ml@example.com",
}
CREDIT_CARD = {
    "model_details": "XGBoost over bureau and application features.",
    "intended_use": "Probability of default for consumer loan applications.",
    "out_of_scope": "Not for business lending, or any decision without an underwriter.",
    "metrics": "AUC, KS and Gini: the measures the credit committee tracks.",
    "evaluation_data": "Applications of 2024 Q4, held out by time.",
    "training_data": "Five years of applications with 12-month default outcomes.",
    "risks_limitations": "Thin-file applicants score less reliably.",
    "human_oversight": "Underwriters see the score and its top reasons, and decide.",
    # What the high-risk Production policy's Annex IV gate requires beyond the card's
    # required sections (governance/annex_gate.py).
    "intended_purpose": "Estimating the probability of default of EU consumer loan applicants.",
    "risk_management": "Risk register of the credit-scoring AI system: thin files, drift, bias.",
    "standards_applied": "ISO/IEC 23894:2023 (AI risk management), ISO/IEC 42001:2023.",
    "post_market_monitoring": "Monthly approval gap by age band; review above 0.10.",
}
FRAUD_METADATA = {
    "developers": "Fraud analytics team",
    "model_type": "Gradient-boosted trees (binary classifier)",
    "license": "other",
}


@contextlib.contextmanager
def _no_demo_mail():
    """The demo's transition requests would email the demo accounts (the console backend
    prints every message), burying the passwords; the first start sends none."""
    previous = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    try:
        yield
    finally:
        settings.EMAIL_BACKEND = previous


def _demo_governance(users: dict) -> None:
    """A history worth reporting on: risk classes, a full model card, an approved
    Production version with its alias, and a high-risk request awaiting decision."""
    from governance.models import TransitionRequest
    from governance.services import (
        alias_set,
        decision_record,
        grant_assign,
        model_risk_class_set,
        transition_request_open,
    )
    from registry.models import Artifact
    from registry.services.cards import card_save

    admin, approver = users["ada"], users["avery"]
    for model in RegisteredModel.objects.all():
        # Approvers decide every new model's requests (ATTEST_DEFAULT_APPROVER_GROUPS); if
        # that is switched off, the admin assigns avery, as only an admin may.
        if not access.allows(approver, model, "approve"):
            grant_assign(actor=admin, registered_model=model, action="approve", user=approver)
    fraud = RegisteredModel.objects.get(name="fraud-detector")
    credit = RegisteredModel.objects.get(name="credit-scoring")
    model_risk_class_set(
        actor=users["dana"],
        registered_model=fraud,
        risk_class="limited",
        rationale="Decision support reviewed by an analyst; no automated account action.",
    )
    model_risk_class_set(
        actor=users["sam"],
        registered_model=credit,
        risk_class="high",
        rationale="Creditworthiness of natural persons: EU AI Act Annex III 5(b).",
    )
    champion = fraud.versions.get(version=3)
    card_save(actor=users["dana"], version=champion, sections=FRAUD_CARD, metadata=FRAUD_METADATA)
    unscanned = Artifact.objects.filter(model_version=champion).exclude(
        scan_status__in=[Artifact.ScanStatus.CLEAN, Artifact.ScanStatus.NOT_APPLICABLE]
    )
    if unscanned.exists():
        return  # the scan has not run (a broker is configured): leave the lifecycle alone
    request = transition_request_open(
        actor=users["dana"],
        version=champion,
        target_stage="Production",
        justification="AUC 0.89 on the October hold-out; card complete; recall by age reviewed.",
    )
    decision_record(
        actor=approver,
        request=request,
        outcome="approve",
        reason="Evidence reviewed; monitoring plan in place.",
    )
    request.refresh_from_db()
    if request.status == TransitionRequest.Status.APPROVED:
        champion.refresh_from_db()
        alias_set(actor=approver, registered_model=fraud, alias="champion", version=champion)
    latest = credit.versions.get(version=3)
    # Complete for the card and Annex IV gates, but with gaps a technical documentation
    # report will show (items the policy does not require, e.g. the declaration).
    card_save(
        actor=users["sam"],
        version=latest,
        sections=CREDIT_CARD,
        metadata={"developers": "Credit risk team", "model_type": "XGBoost", "license": "other"},
    )
    transition_request_open(
        actor=users["sam"],
        version=latest,
        target_stage="Production",
        justification="Quarterly refresh; needs Compliance sign-off as a high-risk model.",
    )
