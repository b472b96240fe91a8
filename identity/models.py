from django.conf import settings
from django.db import models


class ExternalIdentity(models.Model):
    """The link between an Attest account and a person at an identity provider.

    An account is found by (issuer, subject), never by e-mail or username: those can be
    changed or reused at the provider, the subject cannot. A local account with the same
    username is never taken over by a sign-in (identity.services.sso_account)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities"
    )
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="uniq_external_identity")
        ]

    def __str__(self):
        return f"{self.subject} at {self.issuer}"
