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


class FailedSignIn(models.Model):
    """A failed sign-in waiting to be folded into the audit chain.

    Writing one is a plain insert: it never takes the chain's lock, so a flood of wrong
    passwords cannot queue every other write behind it. `governance.signin.failed_signins_fold`
    moves waiting rows into one summary audit event (`auth.login_failed`, listing every
    attempt) and deletes them in the same transaction."""

    occurred_at = models.DateTimeField(default=timezone.now)
    username = models.CharField(max_length=150, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    source = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.username or '(no username)'} from {self.client_ip or '?'}"
