from functools import update_wrapper

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from governance import access


class RegistryAdminSite(admin.AdminSite):
    """The Django admin, open to registry admins (no is_staff flag to keep in step).
    Sign-in happens on Attest's own login page; other signed-in users get a 403."""

    site_header = "Attest administration"
    site_title = "Attest admin"
    index_title = "Users, groups and grants"

    def has_permission(self, request):
        return request.user.is_active and access.is_registry_admin(request.user)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not self.has_permission(request):
                raise PermissionDenied("The admin is for registry admins.")
            return inner(request, *args, **kwargs)

        return update_wrapper(guarded, view)

    @login_not_required
    def login(self, request, extra_context=None):
        return redirect_to_login(request.GET.get("next") or self.index_view_url(request))

    def index_view_url(self, request):
        from django.urls import reverse

        return reverse("admin:index", current_app=self.name)


registry_admin_site = RegistryAdminSite(name="admin")
