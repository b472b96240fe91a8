from django.contrib.auth.backends import ModelBackend


class ExpiringModelBackend(ModelBackend):
    """Django's model backend, refusing accounts whose expiry date has passed."""

    def user_can_authenticate(self, user):
        if not super().user_can_authenticate(user):
            return False
        expiry = getattr(user, "account_expiry", None)
        return not (expiry and expiry.has_expired)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        # An account that expires mid-session loses its session at the next request.
        return user if user is not None and self.user_can_authenticate(user) else None
