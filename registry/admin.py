from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from governance import access
from governance.admin import AuditedAdminMixin
from governance.admin_site import registry_admin_site
from registry.models import (
    RegisteredModel,
    RegisteredModelGroupObjectPermission,
    RegisteredModelUserObjectPermission,
)


class GrantForm(forms.ModelForm):
    """Only the four registry grants, and never a write grant to an auditor."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        codenames = [access.codename(a, RegisteredModel) for a in access.ACTIONS]
        self.fields["permission"].queryset = self.fields["permission"].queryset.filter(
            codename__in=codenames, content_type__app_label="registry"
        )

    def clean(self):
        data = super().clean()
        permission = data.get("permission")
        if permission:
            action = permission.codename.split("_", 1)[0]
            try:
                access.validate_grant(action, user=data.get("user"), group=data.get("group"))
            except ValidationError as exc:
                raise ValidationError({"permission": exc.messages}) from exc
        return data


@admin.register(RegisteredModelUserObjectPermission, site=registry_admin_site)
class UserGrantAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = GrantForm
    list_display = ("content_object", "user", "permission")
    list_filter = ("permission",)
    search_fields = ("content_object__name", "user__username")
    autocomplete_fields = ("content_object",)
    raw_id_fields = ("user",)


@admin.register(RegisteredModelGroupObjectPermission, site=registry_admin_site)
class GroupGrantAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = GrantForm
    list_display = ("content_object", "group", "permission")
    list_filter = ("permission", "group")
    search_fields = ("content_object__name", "group__name")
    autocomplete_fields = ("content_object",)


@admin.register(RegisteredModel, site=registry_admin_site)
class RegisteredModelAdmin(admin.ModelAdmin):
    """Listed for look-ups and grant autocompletion; edits happen in the app (audited).
    The risk class in particular only changes through governance.services.risk (lowering
    it, or changing it while a version is live, is a Compliance decision)."""

    list_display = ("name", "team", "risk_class", "latest_version_number", "updated_at")
    search_fields = ("name",)
    readonly_fields = ("name", "team", "risk_class", "description", "created_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
