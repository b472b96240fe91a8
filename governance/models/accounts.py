from django.conf import settings
from django.db import models
from django.utils import timezone


class AccountExpiry(models.Model):
    """An optional expiry for an account (auditors' temporary access)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_expiry"
    )
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "account expiries"

    def __str__(self):
        return f"{self.user} expires {self.expires_at:%Y-%m-%d}"

    @property
    def has_expired(self) -> bool:
        return self.expires_at <= timezone.now()
