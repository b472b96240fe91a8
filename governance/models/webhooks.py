"""Webhook endpoints and their deliveries (signed like MLflow's webhooks)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from governance import access
from governance.access import OwnedManager

EVENTS = [
    ("model.created", "Model created"),
    ("version.created", "Version created"),
    ("transition.requested", "Transition requested"),
    ("transition.approved", "Transition approved"),
    ("transition.rejected", "Transition rejected"),
    ("stage.changed", "Stage changed"),
    ("alias.set", "Alias set"),
    ("alias.removed", "Alias removed"),
    ("card.changed", "Model card changed"),
    ("report.ready", "Report ready"),
    ("webhook.test", "Test delivery"),
]


class Webhook(models.Model):
    """Read through `Webhook.objects.restrict(user)` (access.OwnedQuerySet): no owner decides;
    a webhook is seen by those who may manage its model, and every webhook (those on every
    model's events too) by registry admins."""

    owner_field = None

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=1000)
    # Signs deliveries. HMAC needs the secret itself, so it cannot be hashed: it is sealed
    # (encrypted under a key derived from SECRET_KEY, governance.sealing) instead.
    secret = models.CharField(max_length=200, editable=False)
    events = models.JSONField(default=list)
    # One model's events, or (registry admins only) every model's when empty.
    registered_model = models.ForeignKey(
        "registry.RegisteredModel",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhooks",
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = OwnedManager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("governance:webhook-detail", args=[self.pk])

    def signing_secret(self) -> str:
        """The secret in clear, for signing (raises sealing.SealError if it cannot)."""
        from governance.sealing import unseal

        return unseal(self.secret)

    @classmethod
    def linked_rows(cls, user) -> models.Q:
        """On a model `user` may manage."""
        model = cls._meta.get_field("registered_model").related_model
        return models.Q(registered_model__in=model.objects.restrict(user, "manage").values("pk"))

    @classmethod
    def sees_all_rows(cls, user) -> bool:
        return access.is_registry_admin(user)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.event} → {self.webhook}"
