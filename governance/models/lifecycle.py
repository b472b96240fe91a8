"""Lifecycle control: approval policies, transition requests, decisions, comments and
protected aliases."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone

from governance.access import RestrictedManager

RISK_ANY = "any"
RISK_CHOICES = [
    (RISK_ANY, "Any risk class"),
    ("unclassified", "Unclassified"),
    ("minimal", "Minimal"),
    ("limited", "Limited"),
    ("high", "High"),
]
GATED_STAGES = [("Staging", "Staging"), ("Production", "Production")]


class ApprovalPolicy(models.Model):
    """How a version reaches a stage: approvals needed, from which groups, which gates."""

    target_stage = models.CharField(max_length=16, choices=GATED_STAGES)
    risk_class = models.CharField(max_length=16, choices=RISK_CHOICES, default=RISK_ANY)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    required_groups = models.ManyToManyField(
        Group,
        blank=True,
        related_name="+",
        help_text="At least one approval must come from a member of each of these groups.",
    )
    required_metrics = models.CharField(
        max_length=500,
        blank=True,
        help_text="Comma-separated metric names the version must report.",
    )
    require_model_card = models.BooleanField(default=False)
    required_annex_iv_items = models.CharField(
        max_length=1000,
        blank=True,
        help_text=(
            "Comma-separated keys of the technical documentation's Annex IV items the version "
            "must have (docs/reports.md lists them); an unknown key fails the gate."
        ),
    )
    require_risk_class = models.BooleanField(default=True)
    sla_hours = models.PositiveIntegerField(
        default=72, help_text="Requests older than this are overdue."
    )

    class Meta:
        verbose_name_plural = "approval policies"
        constraints = [
            models.UniqueConstraint(fields=["target_stage", "risk_class"], name="uniq_policy")
        ]

    def __str__(self):
        return f"{self.target_stage} / {self.get_risk_class_display()}"

    @property
    def metric_names(self) -> list[str]:
        return [m.strip() for m in self.required_metrics.split(",") if m.strip()]

    @property
    def annex_iv_item_keys(self) -> list[str]:
        return [k.strip() for k in self.required_annex_iv_items.split(",") if k.strip()]


class TransitionRequest(models.Model):
    guarded_path = "model_version__registered_model"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Kind(models.TextChoices):
        NORMAL = "normal", "Transition request"
        POST_HOC = "post_hoc", "Post-hoc review of an emergency rollback"

    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.CASCADE, related_name="transition_requests"
    )
    target_stage = models.CharField(max_length=16, choices=GATED_STAGES)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NORMAL)
    justification = models.TextField()
    archive_previous = models.BooleanField(
        default=True, help_text="Archive the current Production version when this one replaces it."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # The policy as it stood when the request opened: later policy edits do not move goals.
    policy = models.JSONField(default=dict)

    objects = RestrictedManager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "target_stage"],
                condition=models.Q(status="pending"),
                name="one_pending_request_per_target",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="request_queue")]

    def __str__(self):
        return f"#{self.pk} {self.model_version} → {self.target_stage}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("governance:request-detail", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def age_hours(self) -> float:
        return (timezone.now() - self.created_at).total_seconds() / 3600

    @property
    def is_overdue(self) -> bool:
        return self.is_pending and self.age_hours > self.policy.get("sla_hours", 72)


class Decision(models.Model):
    guarded_path = "request__model_version__registered_model"

    class Outcome(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    request = models.ForeignKey(
        TransitionRequest, on_delete=models.CASCADE, related_name="decisions"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approver_username = models.CharField(max_length=150)
    approver_groups = models.JSONField(default=list)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = RestrictedManager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="one_decision_each")
        ]

    def __str__(self):
        return f"{self.approver_username} {self.outcome} {self.request}"


class RequestComment(models.Model):
    guarded_path = "request__model_version__registered_model"

    request = models.ForeignKey(
        TransitionRequest, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_username = models.CharField(max_length=150)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = RestrictedManager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"comment by {self.author_username} on {self.request}"


class ProtectedAlias(models.Model):
    """An alias (e.g. champion) that may only point at a version approved for Production,
    and only be moved by someone with approve permission."""

    name = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "protected aliases"
        ordering = ["name"]

    def __str__(self):
        return self.name


class RiskClassChangeRequest(models.Model):
    """A governed change of a model's risk class: lowering it, or changing it at all once
    a version is in Staging or Production. Decided by the Compliance group (registry
    admins while it has no members), never by the requester; approval applies it."""

    guarded_path = "registered_model"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    registered_model = models.ForeignKey(
        "registry.RegisteredModel", on_delete=models.CASCADE, related_name="risk_class_requests"
    )
    from_class = models.CharField(max_length=16)
    to_class = models.CharField(max_length=16)
    rationale = models.TextField()
    # Why this change could not be made at once, in words, as it stood when it opened.
    governed_because = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_username = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["registered_model"],
                condition=models.Q(status="pending"),
                name="one_pending_risk_change_per_model",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="risk_change_queue")]

    def __str__(self):
        return f"#{self.pk} {self.registered_model}: {self.from_class} → {self.to_class}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("governance:risk-request-detail", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    def get_from_class_display(self) -> str:
        return dict(RISK_CHOICES).get(self.from_class, self.from_class)

    def get_to_class_display(self) -> str:
        return dict(RISK_CHOICES).get(self.to_class, self.to_class)


class RiskClassDecision(models.Model):
    """The decision on a risk-class change request: final, with its reason."""

    guarded_path = "request__registered_model"

    class Outcome(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    request = models.ForeignKey(
        RiskClassChangeRequest, on_delete=models.CASCADE, related_name="decisions"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approver_username = models.CharField(max_length=150)
    approver_groups = models.JSONField(default=list)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = RestrictedManager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # One decision decides: it is final.
            models.UniqueConstraint(fields=["request"], name="one_risk_change_decision")
        ]

    def __str__(self):
        return f"{self.approver_username} {self.outcome} {self.request}"
