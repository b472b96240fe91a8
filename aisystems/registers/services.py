"""Every write to the registers: atomic, audited in the same transaction, allowed only to
those who may change the entry's system (`AISystem.objects.restrict(user, "change")`).

`entry_create` / `entry_update` serve every register (aisystems.registers.specs), with
each register's own checks in `CHECKS`; incidents have a four-eyes approval
(`incident_approve`), and monitored metrics take observations (`observation_record`)
that open a review in the risk register when they cross a threshold."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from aisystems.models import (
    AISystem,
    Conformity,
    Incident,
    MetricObservation,
    MonitoringMetric,
    RightsAssessment,
    RiskEntry,
)
from aisystems.registers.specs import BY_KIND, Register
from governance import audit
from registry.models import ModelVersion

REVIEW_WITHIN = timedelta(days=7)


def _system_for(actor, system_id: int, action: str = "change") -> AISystem:
    """The system re-read under a row lock (writes to its registers queue on it), if
    `actor` may `action` it: 404 if they may not see it, 403 if they may only see it."""
    found = AISystem.objects.select_for_update().filter(pk=system_id)
    row = found.restrict(actor, action).first()
    if row is None:
        if not found.restrict(actor, "view").exists():
            raise Http404("No such AI system.")
        raise PermissionDenied(f"You do not have {action} permission on this AI system.")
    return row


def snapshot(entry, spec: Register) -> dict:
    data = {}
    for name in spec.fields:
        if name in spec.version_fields:
            if entry.pk is None:
                continue
            data[name] = sorted(
                f"{m}/v{v}"
                for m, v in getattr(entry, name).values_list("registered_model__name", "version")
            )
        elif name == "owner":
            data[name] = entry.owner.get_username() if entry.owner else None
        else:
            data[name] = getattr(entry, name)
    for extra in ("approved_by_username", "approved_at", "source"):
        if hasattr(entry, extra):
            data[extra] = getattr(entry, extra)
    return audit.json_safe(data)


def _check_versions(actor, system: AISystem, versions: dict) -> dict:
    """Each linked version must be of one of the system's models and visible to the actor."""
    allowed = set(
        ModelVersion.objects.restrict(actor, "view")
        .filter(registered_model__ai_system_memberships__system=system)
        .values_list("pk", flat=True)
    )
    for name, chosen in versions.items():
        stray = [v for v in chosen if v.pk not in allowed]
        if stray:
            raise ValidationError({name: "Link only versions of the system's own models."})
    return versions


def _check_risk(entry: RiskEntry, before: dict | None) -> dict:
    errors = {}
    residual = (entry.residual_likelihood, entry.residual_severity)
    if (residual[0] is None) != (residual[1] is None):
        errors["residual_severity"] = "Estimate both the residual likelihood and severity."
    if entry.status in ("mitigated", "accepted", "closed"):
        if not entry.mitigations.strip():
            errors["mitigations"] = "Say how the risk is mitigated before marking it so."
        if residual[0] is None:
            errors["residual_likelihood"] = "Estimate the residual risk (Art. 9(5))."
    return errors


def _check_incident(entry: Incident, before: dict | None) -> dict:
    errors = {}
    if entry.aware_at and entry.occurred_at and entry.aware_at < entry.occurred_at:
        errors["aware_at"] = "The provider cannot have become aware before it occurred."
    sent = entry.report_sent_at is not None
    if (sent or entry.status != Incident.Status.OPEN) and entry.approved_at is None:
        errors["report_sent_at"] = (
            "The report must be approved (by someone other than its author) before it is "
            "sent or the incident is closed."
        )
    if entry.status != Incident.Status.OPEN and not sent:
        errors["status"] = "Record when the report was sent first."
    if sent and not entry.authority.strip():
        errors["authority"] = "Name the authority the report was sent to."
    if entry.status == Incident.Status.CLOSED and not entry.corrective_actions.strip():
        errors["corrective_actions"] = "Record the corrective actions before closing it."
    # What the approval covered: a change to it before the report is sent needs a new one.
    if before and entry.approved_at and not sent:
        covered = ("category", "description", "corrective_actions", "occurred_at", "aware_at")
        now = audit.json_safe({k: getattr(entry, k) for k in covered})
        if any(before.get(k) != now[k] for k in covered):
            entry.approved_by, entry.approved_by_username, entry.approved_at = None, "", None
    return errors


def _check_monitoring(entry: MonitoringMetric, before: dict | None) -> dict:
    low, high = entry.lower_threshold, entry.upper_threshold
    if low is None and high is None:
        return {"lower_threshold": "Give at least one threshold."}
    if low is not None and high is not None and low > high:
        return {"upper_threshold": "The upper threshold is below the lower one."}
    return {}


def _check_fria(entry: RightsAssessment, before: dict | None) -> dict:
    if entry.status == RightsAssessment.Status.NOTIFIED and entry.notified_on is None:
        return {"notified_on": "Give the date the authority was notified (Art. 27(3))."}
    return {}


def _check_conformity(entry: Conformity, before: dict | None) -> dict:
    errors = {}
    if entry.route == Conformity.Route.ANNEX_VII and not entry.notified_body.strip():
        errors["notified_body"] = "Annex VII needs a notified body."
    start, end = entry.certificate_valid_from, entry.certificate_valid_until
    if start and end and end < start:
        errors["certificate_valid_until"] = "It ends before it starts."
    if entry.certificate_number and not end:
        errors["certificate_valid_until"] = "Give the certificate's validity (Art. 44(2))."
    if entry.ce_marking != Conformity.Marking.NOT_AFFIXED and entry.declaration_signed_on is None:
        errors["ce_marking"] = "CE marking follows the signed EU declaration (Art. 47, 48)."
    if entry.declaration_signed_on and not entry.declaration_signatory.strip():
        errors["declaration_signatory"] = "Name who signed it, and their function."
    if entry.status == Conformity.Status.COMPLETE:
        for name in ("declaration_signed_on", "eu_database_number"):
            if not getattr(entry, name):
                errors.setdefault(name, "Required before the assessment is complete.")
    return errors


CHECKS = {
    "risks": _check_risk,
    "incidents": _check_incident,
    "monitoring": _check_monitoring,
    "fria": _check_fria,
    "conformity": _check_conformity,
}


def _validate(spec: Register, entry, before: dict | None) -> None:
    errors = CHECKS.get(spec.kind, lambda e, b: {})(entry, before)
    if errors:
        raise ValidationError(errors)
    entry.full_clean(exclude=["system", "created_by", "approved_by"])


def entry_create(*, actor, spec: Register, system: AISystem, data: dict, versions=None):
    versions = versions or {}
    with transaction.atomic():
        system = _system_for(actor, system.pk)
        entry = spec.model(system=system, created_by=actor, **data)
        if entry.owner is None:
            entry.owner = actor
        _validate(spec, entry, None)
        _check_versions(actor, system, versions)
        entry.save()
        for name, chosen in versions.items():
            getattr(entry, name).set(chosen)
        audit.record(
            actor=actor,
            action=f"{spec.event}.create",
            target=entry,
            after=snapshot(entry, spec) | {"system": system.name},
        )
    return entry


def entry_update(*, actor, spec: Register, entry, data: dict, versions=None):
    versions = versions or {}
    with transaction.atomic():
        system = _system_for(actor, entry.system_id)
        entry = spec.model.objects.select_for_update().get(pk=entry.pk)
        before = snapshot(entry, spec)
        for name, value in data.items():
            setattr(entry, name, value)
        _validate(spec, entry, before)
        _check_versions(actor, system, versions)
        entry.save()
        for name, chosen in versions.items():
            getattr(entry, name).set(chosen)
        after = snapshot(entry, spec)
        if after == before:
            raise ValidationError("Nothing changed.")
        audit.record(
            actor=actor,
            action=f"{spec.event}.update",
            target=entry,
            before=before,
            after=after | {"system": system.name},
        )
    return entry


def incident_approval_refusal(actor, incident: Incident) -> str | None:
    """Why `actor` may not approve the incident's report, or None."""
    if incident.approved_at is not None:
        return "The report is already approved."
    if incident.report_sent_at is not None:
        return "The report has been sent."
    if incident.created_by_id == actor.pk:
        return "Four-eyes rule: you recorded this incident, someone else approves its report."
    if not AISystem.objects.filter(pk=incident.system_id).restrict(actor, "approve").exists():
        return "Only an approver of every model of the system approves its incident reports."
    return None


def incident_approve(*, actor, incident: Incident) -> Incident:
    """Approve the incident's report before it is sent: an approver of every model of the
    system (approve counts only for Approvers and Compliance), never the incident's author."""
    with transaction.atomic():
        _system_for(actor, incident.system_id, "view")
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        refusal = incident_approval_refusal(actor, incident)
        if refusal is not None:
            raise PermissionDenied(refusal)
        incident.approved_by = actor
        incident.approved_by_username = actor.get_username()
        incident.approved_at = timezone.now()
        incident.save(update_fields=["approved_by", "approved_by_username", "approved_at"])
        audit.record(
            actor=actor,
            action="incident.approve",
            target=incident,
            after={"incident": incident.pk, "title": incident.title, "deadline": incident.deadline},
        )
    return incident


def observation_record(
    *,
    actor,
    metric: MonitoringMetric,
    value: float,
    observed_at=None,
    model_version=None,
    source: str = "form",
) -> MetricObservation:
    """Record one observed value of a monitored metric (for a version of one of the
    system's models). A value outside the thresholds is a breach and opens a review in the
    risk register (its own `risk_entry.create` event)."""
    observed_at = observed_at or timezone.now()
    with transaction.atomic():
        system = _system_for(actor, metric.system_id)
        metric = MonitoringMetric.objects.get(pk=metric.pk)
        if model_version is not None:
            _check_versions(actor, system, {"model_version": [model_version]})
        if observed_at > timezone.now() + timedelta(minutes=5):
            raise ValidationError({"observed_at": "An observation cannot be in the future."})
        breach = metric.breaches(value)
        observation = MetricObservation.objects.create(
            metric=metric,
            model_version=model_version,
            value=value,
            observed_at=observed_at,
            breach=breach,
            source=source,
            recorded_by=actor,
        )
        version_ref = (
            f"{model_version.registered_model.name}/v{model_version.version}"
            if model_version
            else None
        )
        audit.record(
            actor=actor,
            action="monitoring.observe",
            target=metric,
            model_version_id=model_version.pk if model_version else None,
            after={
                "observation": observation.pk,
                "metric": metric.metric_key,
                "value": value,
                "observed_at": observed_at,
                "version": version_ref,
                "breach": breach,
                "source": source,
            },
        )
        if breach:
            observation.review = _open_review(actor, metric, observation, version_ref)
            observation.save(update_fields=["review"])
    return observation


def _open_review(actor, metric, observation, version_ref) -> RiskEntry:
    bounds = metric.bounds_text
    review = RiskEntry.objects.create(
        system=metric.system,
        title=f"Review: {metric.title} = {observation.value:g}, expected {bounds}",
        owner=metric.owner,
        created_by=actor,
        hazard=f"Post-market monitoring (Art. 72): {metric.metric_key} was "
        f"{observation.value:g} on {observation.observed_at:%Y-%m-%d}"
        + (f" for {version_ref}" if version_ref else "")
        + f"; expected {bounds}.",
        likelihood=3,
        severity=3,
        review_on=timezone.localdate() + REVIEW_WITHIN,
        source=f"monitoring observation #{observation.pk}",
    )
    audit.record(
        actor=actor,
        action="risk_entry.create",
        target=review,
        after=snapshot(review, BY_KIND["risks"]) | {"system": metric.system.name},
    )
    return review
