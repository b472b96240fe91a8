from django.contrib import admin
from django.contrib.auth.views import redirect_to_login

from governance import access


class RegistryAdminSite(admin.AdminSite):
    """The Django admin, open to registry admins (no is_staff flag to keep in step)."""

    site_header = "Attest administration"
    site_title = "Attest admin"
    index_title = "Users, groups and grants"

    def has_permission(self, request):
        return request.user.is_active and access.is_registry_admin(request.user)

    def login(self, request, extra_context=None):
        return redirect_to_login(request.get_full_path())


registry_admin_site = RegistryAdminSite(name="admin")
