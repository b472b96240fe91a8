"""A system follows the Compliance decisions on its models' risk-class requests.

`system_risk_class_set` leaves the system's new class pending while any member model's
change waits for Compliance. When a request is approved and every member model now has
the pending class, the system takes it; when one is rejected or withdrawn, the pending
change is abandoned (the models already changed keep their class, shown on the system
page). Both are recorded in the decision's own transaction (post_save runs inside it)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from aisystems.models import AISystem
from governance import audit
from governance.models import RiskClassChangeRequest


def _decider(request: RiskClassChangeRequest):
    decision = request.decisions.select_related("approver").first()
    if decision is not None and decision.approver is not None:
        return decision.approver
    return request.requested_by or "system:risk-class"


@receiver(post_save, sender=RiskClassChangeRequest, dispatch_uid="aisystems-follow-risk")
def follow_risk_decision(sender, instance: RiskClassChangeRequest, created, **kwargs):
    if created or instance.is_pending:
        return
    systems = AISystem.objects.select_for_update().filter(
        memberships__registered_model_id=instance.registered_model_id,
        pending_risk_class=instance.to_class,
    )
    Status = RiskClassChangeRequest.Status
    for system in systems:
        before = {"risk_class": system.risk_class, "pending_risk_class": system.pending_risk_class}
        if instance.status == Status.APPROVED:
            lagging = system.memberships.exclude(
                registered_model__risk_class=system.pending_risk_class
            )
            if lagging.exists():
                continue
            system.risk_class = system.pending_risk_class
            action = "aisystem.risk_class"
        else:
            action = "aisystem.risk_class_abandon"
        system.pending_risk_class = ""
        system.save(update_fields=["risk_class", "pending_risk_class", "updated_at"])
        audit.record(
            actor=_decider(instance)
            if instance.status != Status.WITHDRAWN
            else instance.requested_by,
            action=action,
            target=system,
            before=before,
            after={
                "risk_class": system.risk_class,
                "pending_risk_class": "",
                "because": f"risk-class request #{instance.pk} on "
                f"{instance.registered_model.name} was {instance.status}",
            },
        )
