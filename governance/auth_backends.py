from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ObjectDoesNotExist

from governance.models import is_service_account


class ExpiringModelBackend(ModelBackend):
    """Django's model backend, refusing accounts whose expiry date has passed, and every
    password but the break-glass accounts' once local passwords are switched off
    (ATTEST_LOCAL_PASSWORDS=false, ATTEST_BREAK_GLASS_USERS), and service accounts
    always: they act through API tokens only, even if someone gave one a password or
    staff status in the admin (the admin's sign-in comes through here too)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.ATTEST_LOCAL_PASSWORDS and (
            username is None or username not in settings.ATTEST_BREAK_GLASS_USERS
        ):
            return None  # refused like a wrong password (audited as a failed sign-in)
        return super().authenticate(request, username=username, password=password, **kwargs)

    def user_can_authenticate(self, user):
        if not super().user_can_authenticate(user):
            return False
        if is_service_account(user):
            return False
        expiry = getattr(user, "account_expiry", None)
        return not (expiry and expiry.has_expired)

    def get_user(self, user_id):
        # Every request loads its user here: with the expiry in the same query.
        # An account that expires mid-session loses its session at the next request.
        # A session of a service account (never made by a sign-in) is refused here too.
        users = get_user_model()._default_manager.select_related(
            "account_expiry", "service_account"
        )
        try:
            user = users.get(pk=user_id)
        except ObjectDoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class ThrottledSignInBackend(AxesStandaloneBackend):
    """django-axes' lockout check, first in AUTHENTICATION_BACKENDS: a locked-out username
    or address is refused before any password is checked.

    Every sign-in over HTTP passes the request. A call without one (Django's test client
    `login()`, code on the server) has no client to throttle and is left to the next
    backends, instead of axes' error for a missing request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
