from django.contrib.auth.views import PasswordChangeView
from django.db import transaction

from governance import audit


class AuditedPasswordChangeView(PasswordChangeView):
    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            audit.record(
                actor=self.request.user, action="auth.password_change", target=self.request.user
            )
        return response
