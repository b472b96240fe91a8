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


class ServiceAccount(models.Model):
    """A non-human account a team's pipelines act as, through API tokens only.

    Its user has no usable password and is refused by every sign-in route (the password
    form and the admin through governance.auth_backends, single sign-on in
    identity.services): it exists to own tokens and hold grants. A team's managers and the
    registry admins create it and mint its tokens (governance.services.service_accounts)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_account"
    )
    team = models.ForeignKey("auth.Group", on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self):
        return f"{self.user.get_username()} (service account of {self.team.name})"


def is_service_account(user) -> bool:
    """True for a service account's user (one query at most; none after select_related)."""
    if user is None or not getattr(user, "pk", None):
        return False
    return getattr(user, "service_account", None) is not None
