from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError

from governance import access
from governance.admin_site import registry_admin_site
from governance.services.grants import (
    grant_assign,
    grant_assign_check,
    grant_revoke,
    grant_revoke_check,
)
from registry.models import (
    RegisteredModel,
    RegisteredModelGroupObjectPermission,
    RegisteredModelUserObjectPermission,
)


class GrantForm(forms.ModelForm):
    """Only the four registry grants, checked by the grant service's own rules for the
    acting admin (who may grant approve, to whom, already held); saving goes through it."""

    actor = None  # set by GrantAdmin.get_form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        codenames = [access.codename(a, RegisteredModel) for a in access.ACTIONS]
        if "permission" in self.fields:  # not on the read-only page of an existing grant
            self.fields["permission"].queryset = self.fields["permission"].queryset.filter(
                codename__in=codenames, content_type__app_label="registry"
            )

    def clean(self):
        data = super().clean()
        permission, model = data.get("permission"), data.get("content_object")
        if permission and model and not self.errors:
            action = permission.codename.split("_", 1)[0]
            try:
                grant_assign_check(
                    actor=self.actor,
                    registered_model=model,
                    action=action,
                    user=data.get("user"),
                    group=data.get("group"),
                )
            except PermissionDenied as exc:
                raise ValidationError({"permission": str(exc)}) from exc
            except ValidationError as exc:
                raise ValidationError({"permission": exc.messages}) from exc
        return data


class GrantAdmin(admin.ModelAdmin):
    """Grants are added and deleted through the grant services (grant_assign,
    grant_revoke): the same rules as the model's Access page (who may grant approve, and to
    whom; never the last manager) and the same audit events, carrying the model's id. A
    grant is never edited in place: revoke it and grant another."""

    form = GrantForm
    holder = ""  # "user" or "group"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # each revoke goes through the service
        return actions

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None:
            return True
        try:
            grant_revoke_check(actor=request.user, **self._grant(obj))
        except (PermissionDenied, ValidationError):
            return False  # e.g. the last manager, or approve for someone not allowed
        return True

    def _grant(self, obj) -> dict:
        return {
            "registered_model": obj.content_object,
            "action": obj.permission.codename.split("_", 1)[0],
            self.holder: getattr(obj, self.holder),
        }

    def save_model(self, request, obj, form, change):
        grant_assign(actor=request.user, **self._grant(obj))
        obj.pk = (
            type(obj)
            .objects.get(
                content_object=obj.content_object,
                permission=obj.permission,
                **{self.holder: getattr(obj, self.holder)},
            )
            .pk
        )

    def delete_model(self, request, obj):
        try:
            grant_revoke(actor=request.user, **self._grant(obj))
        except ValidationError as exc:  # changed since the page was shown
            raise PermissionDenied(" ".join(exc.messages)) from exc

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(RegisteredModelUserObjectPermission, site=registry_admin_site)
class UserGrantAdmin(GrantAdmin):
    holder = "user"
    list_display = ("content_object", "user", "permission")
    list_filter = ("permission",)
    search_fields = ("content_object__name", "user__username")
    autocomplete_fields = ("content_object",)
    raw_id_fields = ("user",)


@admin.register(RegisteredModelGroupObjectPermission, site=registry_admin_site)
class GroupGrantAdmin(GrantAdmin):
    holder = "group"
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
