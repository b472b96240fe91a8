from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class AccessReview(models.Model):
    """A periodic review of who holds what: every grant on a model and every role
    membership, each confirmed or revoked by someone allowed to revoke it
    (governance.services.access_reviews). Quarterly by default."""

    opened_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )  # None: opened by the schedule
    closed_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self):
        return f"Access review of {self.opened_at:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("governance:access-review-detail", args=[self.pk])

    @property
    def status(self) -> str:
        if self.closed_at:
            return "closed"
        return "overdue" if self.due_at <= timezone.now() else "open"


class AccessReviewItem(models.Model):
    """One thing held when the review opened: a grant (`permission` on `registered_model`
    to `user` or `group`), a role membership (`user` in the role `group`), or a service
    account (`user`, of the team `group`)."""

    class Kind(models.TextChoices):
        GRANT = "grant", "Grant"
        MEMBERSHIP = "membership", "Role membership"
        SERVICE_ACCOUNT = "service_account", "Service account"

    class Decision(models.TextChoices):
        PENDING = "pending", "Pending"
        CONFIRMED = "confirmed", "Confirmed"
        REVOKED = "revoked", "Revoked"

    review = models.ForeignKey(AccessReview, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, null=True, related_name="+")
    registered_model = models.ForeignKey(
        "registry.RegisteredModel", on_delete=models.CASCADE, null=True, related_name="+"
    )
    permission = models.CharField(max_length=20, blank=True)
    # As found when the review opened: auditors' expiry, service accounts marked.
    holder = models.CharField(max_length=200)
    account_expires_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, default="pending")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["kind", "holder", "pk"]

    def __str__(self):
        return self.describe()

    def describe(self) -> str:
        if self.kind == self.Kind.GRANT:
            return f"{self.holder}: {self.permission} on {self.registered_model}"
        if self.kind == self.Kind.MEMBERSHIP:
            return f"{self.holder}: member of {self.group}"
        return f"{self.holder}: service account of {self.group}"
