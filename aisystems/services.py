"""Every write to AI systems: keyword-only, atomic, each recording its audit event in the
same transaction (governance.audit.record), each checking the actor's right through
`AISystem.objects.restrict()` (the member models' grants).

The risk class lives on the system and its member models inherit it: a change goes through
each model's governed change (governance.services.risk): applied at once where that is
allowed, else a `RiskClassChangeRequest` per model that Compliance decides. The system
takes the new class when the last of those requests is approved (aisystems.signals)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from aisystems import questionnaire
from aisystems.models import (
    AISystem,
    AISystemModel,
    Classification,
    MarketStatus,
    OperatorRole,
)
from governance import audit
from governance.services.common import required_text
from governance.services.risk import (
    RISK_RANK,
    governed_because,
    model_risk_class_set,
    risk_class_request_open,
)
from registry.models import RegisteredModel, RiskClass
from registry.services.models import can_register_models

# The fields a form may write; the risk class and membership have their own rules.
EDITABLE = (
    "name",
    "intended_purpose",
    "operator_role",
    "provider_name",
    "provider_address",
    "deployer_name",
    "deployer_address",
    "annex_iii_category",
    "not_high_risk_reasoning",
    "interfaces",
    "software_versions",
    "update_requirements",
    "delivery_forms",
    "hardware",
    "product_illustrations",
    "deployer_interface",
    "instructions_for_use",
    "predetermined_changes",
    "cybersecurity",
    "input_specification",
    "market_status",
    "placed_on_market_on",
)
ON_MARKET = (
    MarketStatus.PLACED_ON_MARKET,
    MarketStatus.IN_SERVICE,
    MarketStatus.WITHDRAWN,
    MarketStatus.RECALLED,
)


def can_create_systems(user) -> bool:
    """Who registers AI systems: those who may register models (data scientists)."""
    return can_register_models(user)


def snapshot(system: AISystem) -> dict:
    data = {name: getattr(system, name) for name in EDITABLE}
    data["risk_class"] = system.risk_class
    data["pending_risk_class"] = system.pending_risk_class
    data["models"] = sorted(system.memberships.values_list("registered_model__name", flat=True))
    data["versions"] = sorted(
        f"{m}/v{v}" for m, v in system.versions.values_list("registered_model__name", "version")
    )
    return audit.json_safe(data)


def _locked(actor, system: AISystem, action: str = "change") -> AISystem:
    """The system re-read under a row lock, if `actor` may `action` it: 404 if they may not
    even see it, 403 if they may only see it."""
    found = AISystem.objects.select_for_update().filter(pk=system.pk)
    row = found.restrict(actor, action).first()
    if row is None:
        if not found.restrict(actor, "view").exists():
            raise Http404("No such AI system.")
        raise PermissionDenied(f"You do not have {action} permission on {system}.")
    return row


def _validate(system: AISystem, *, latest: Classification | None) -> None:
    errors = {}
    if system.operator_role in (OperatorRole.DEPLOYER, OperatorRole.BOTH):
        if not system.deployer_name.strip():
            errors["deployer_name"] = "Name the deployer's legal entity."
        if not system.deployer_address.strip():
            errors["deployer_address"] = "Give the deployer's address."
    if system.market_status in ON_MARKET and system.placed_on_market_on is None:
        errors["placed_on_market_on"] = "Give the date it was placed on the market."
    live = system.market_status in (MarketStatus.PLACED_ON_MARKET, MarketStatus.IN_SERVICE)
    if live and latest is not None and latest.prohibited:
        errors["market_status"] = (
            f"Classification #{latest.pk} found a prohibited practice (Art. 5): it may "
            "not be placed on the market or put into service."
        )
    if _needs_art6_3(system, system.risk_class):
        errors["not_high_risk_reasoning"] = (
            "It is in an Annex III area but not classified high-risk: record the Art. 6(3) "
            "reasoning (Art. 6(4))."
        )
    if errors:
        raise ValidationError(errors)
    system.full_clean(exclude=["owner"], validate_unique=True)


def _needs_art6_3(system: AISystem, risk_class: str) -> bool:
    return (
        system.in_annex_iii
        and risk_class not in (RiskClass.HIGH, RiskClass.UNCLASSIFIED)
        and not system.not_high_risk_reasoning.strip()
    )


def _check_members(actor, system, registered_models, versions) -> tuple[list, list]:
    """The models and versions to keep: the actor must be able to change every model added
    or removed (a kept one is covered by the change right on the system), and every version
    must be of a member model."""
    wanted = {m.pk: m for m in registered_models}
    current = set(system.memberships.values_list("registered_model_id", flat=True))
    touched = set(wanted) ^ current
    allowed = set(
        RegisteredModel.objects.filter(pk__in=touched)
        .restrict(actor, "change")
        .values_list("pk", flat=True)
    )
    refused = touched - allowed
    if refused:
        raise ValidationError(
            {"registered_models": "You may add or remove only models you can change."}
        )
    versions = list(versions)
    stray = [v for v in versions if v.registered_model_id not in wanted]
    if stray:
        raise ValidationError(
            {
                "versions": "Each version must be of one of the system's models: "
                + ", ".join(f"{v.registered_model.name} v{v.version}" for v in stray)
            }
        )
    return list(wanted.values()), versions


def _set_members(actor, system, models, versions, *, rationale: str) -> None:
    current = {m.registered_model_id: m for m in system.memberships.all()}
    for model in models:
        if model.pk not in current:
            AISystemModel.objects.create(system=system, registered_model=model)
            _align(actor, model, system.risk_class, rationale=rationale)
    keep = {m.pk for m in models}
    system.memberships.exclude(registered_model_id__in=keep).delete()
    system.versions.set(versions)


def _align(actor, model: RegisteredModel, risk_class: str, *, rationale: str):
    """Bring one member model to `risk_class` through its governed change: at once where
    allowed (returns None), else an open request (returned)."""
    if risk_class == RiskClass.UNCLASSIFIED or model.risk_class == risk_class:
        return None
    try:
        if governed_because(model, risk_class) is None:
            model_risk_class_set(
                actor=actor, registered_model=model, risk_class=risk_class, rationale=rationale
            )
            return None
        return risk_class_request_open(
            actor=actor, registered_model=model, risk_class=risk_class, rationale=rationale
        )
    except ValidationError as exc:
        messages = [m for ms in getattr(exc, "message_dict", {}).values() for m in ms]
        text = " ".join(messages) or " ".join(exc.messages)
        raise ValidationError({"risk_class": f"{model.name}: {text}"}) from exc
    except PermissionDenied as exc:
        raise ValidationError(
            {"risk_class": f"{model.name}: you cannot change its risk class."}
        ) from exc


def _latest(system: AISystem) -> Classification | None:
    return system.classifications.first() if system.pk else None


def system_create(*, actor, data: dict, registered_models=(), versions=()) -> AISystem:
    if not can_create_systems(actor):
        raise PermissionDenied("Only data scientists can register AI systems.")
    system = AISystem(owner=actor, **{k: v for k, v in data.items() if k in EDITABLE})
    _validate(system, latest=None)
    with transaction.atomic():
        system.save()
        models, versions = _check_members(actor, system, registered_models, versions)
        _set_members(actor, system, models, versions, rationale=f"AI system {system.name}")
        audit.record(actor=actor, action="aisystem.create", target=system, after=snapshot(system))
    return system


def system_update(
    *, actor, system: AISystem, data: dict, registered_models=None, versions=None
) -> AISystem:
    with transaction.atomic():
        system = _locked(actor, system)
        before = snapshot(system)
        for name, value in data.items():
            if name in EDITABLE:
                setattr(system, name, value)
        _validate(system, latest=_latest(system))
        system.save()
        if registered_models is not None:
            models, versions = _check_members(
                actor, system, registered_models, versions if versions is not None else []
            )
            _set_members(actor, system, models, versions, rationale=f"AI system {system.name}")
        after = snapshot(system)
        if after == before:
            raise ValidationError("Nothing changed.")
        audit.record(
            actor=actor, action="aisystem.update", target=system, before=before, after=after
        )
    return system


def system_risk_class_set(*, actor, system: AISystem, risk_class: str, rationale: str) -> dict:
    """Set the system's risk class and bring every member model to it through the models'
    governed change. Returns {"applied": [model names], "requested": [requests]}: with no
    request the system takes the class now; otherwise it is pending until Compliance has
    approved every request (aisystems.signals), and keeps its class meanwhile."""
    rationale = required_text(rationale, "A rationale", field="rationale")
    if risk_class not in RiskClass.values:
        raise ValidationError({"risk_class": f"Choose one of {', '.join(RiskClass.values)}."})
    with transaction.atomic():
        system = _locked(actor, system)
        if system.pending_risk_class:
            raise ValidationError(
                {
                    "risk_class": f"A change to {system.get_pending_risk_class_display()} is "
                    "waiting for Compliance on the system's models; it must be decided first."
                }
            )
        if _needs_art6_3(system, risk_class):
            raise ValidationError(
                {
                    "risk_class": "It is in an Annex III area: record the Art. 6(3) reasoning "
                    "on the system before classifying it as not high-risk."
                }
            )
        models = list(
            RegisteredModel.objects.select_for_update()
            .filter(ai_system_memberships__system=system)
            .order_by("name")
        )
        if risk_class == system.risk_class and all(m.risk_class == risk_class for m in models):
            raise ValidationError({"risk_class": f"{system.name} is already {risk_class}."})
        before = {"risk_class": system.risk_class, "models": {m.name: m.risk_class for m in models}}
        reason = f"AI system {system.name}: {rationale}"
        applied, requested = [], []
        for model in models:
            if model.risk_class == risk_class:
                continue
            request = _align(actor, model, risk_class, rationale=reason)
            if request is None:
                applied.append(model.name)
            else:
                requested.append(request)
        if requested:
            system.pending_risk_class = risk_class
            action = "aisystem.risk_class_request"
        else:
            system.risk_class = risk_class
            action = "aisystem.risk_class"
        system.save(update_fields=["risk_class", "pending_risk_class", "updated_at"])
        audit.record(
            actor=actor,
            action=action,
            target=system,
            before=before,
            after={
                "risk_class": system.risk_class,
                "pending_risk_class": system.pending_risk_class,
                "rationale": rationale,
                "lowering": RISK_RANK[risk_class] < RISK_RANK[before["risk_class"]],
                "applied_to": applied,
                "requests": [r.pk for r in requested],
            },
        )
    return {"applied": applied, "requested": requested, "system": system}


def classification_record(
    *, actor, system: AISystem, answers: dict, notes: str = ""
) -> Classification:
    """Record one run of the questionnaire (answers and result) as evidence. It does not
    change the risk class by itself: that is `system_risk_class_set`, governed."""
    try:
        result = questionnaire.evaluate(answers)
    except (KeyError, ValueError) as exc:
        raise ValidationError(f"Answer every question ({exc}).") from exc
    answers = {q.key: answers[q.key] for q in questionnaire.QUESTIONS}
    with transaction.atomic():
        system = _locked(actor, system)
        row = Classification.objects.create(
            system=system,
            answers=answers,
            prohibited=result.prohibited,
            result_class=result.risk_class,
            reasons=result.reasons,
            transparency_duties=result.transparency_duties,
            notes=notes.strip(),
            performed_by=actor,
            performed_by_username=actor.get_username(),
        )
        audit.record(
            actor=actor,
            action="aisystem.classify",
            target=system,
            after={
                "classification": row.pk,
                "answers": answers,
                "prohibited": result.prohibited,
                "result_class": result.risk_class,
                "reasons": result.reasons,
                "transparency_duties": result.transparency_duties,
                "notes": row.notes,
            },
        )
    return row
