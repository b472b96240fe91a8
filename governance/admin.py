from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.forms.models import model_to_dict

from governance import (
    access,
    audit,
    registry_admin,  # noqa: F401  (registered models and their grants)
)
from governance.admin_site import registry_admin_site
from governance.models import (
    AccountExpiry,
    ApprovalPolicy,
    AuditEvent,
    Decision,
    ProtectedAlias,
    RiskClassChangeRequest,
    RiskClassDecision,
    TransitionRequest,
)
from governance.signin import signin_unlock


def admin_snapshot(obj) -> dict:
    data = model_to_dict(obj, exclude=["password"])
    for key, value in list(data.items()):
        if isinstance(value, list):  # many-to-many: record names, not objects
            data[key] = sorted(str(v) for v in value)
    return data


class AuditedAdminMixin:
    """Every add, change and delete made in the admin records an audit event, in the
    admin's own transaction. Bulk delete is switched off so each deletion is recorded."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        if change and obj.pk:
            old = type(obj)._default_manager.filter(pk=obj.pk).first()
            request._audit_before = admin_snapshot(old) if old else None
        super().save_model(request, obj, form, change)

    def _record(self, request, obj, action, before=None, after=None, message=""):
        with transaction.atomic():
            audit.record(
                actor=request.user,
                action=f"admin.{obj._meta.model_name}.{action}",
                target=obj,
                before=before,
                after=after,
                context={"admin_message": str(message)[:1000]} if message else None,
            )

    def log_addition(self, request, obj, message):
        self._record(request, obj, "add", after=admin_snapshot(obj), message=message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        before = getattr(request, "_audit_before", None)
        self._record(
            request, obj, "change", before=before, after=admin_snapshot(obj), message=message
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._record(request, obj, "delete", before=admin_snapshot(obj))
        return super().log_deletions(request, queryset)


class AccountExpiryInline(admin.StackedInline):
    model = AccountExpiry
    can_delete = True
    extra = 0


@admin.register(User, site=registry_admin_site)
class AttestUserAdmin(AuditedAdminMixin, UserAdmin):
    inlines = [AccountExpiryInline]
    list_display = ("username", "email", "is_active", "roles", "expires")

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # A superuser holds every right, approve included: only a superuser makes one.
            fields += ("is_superuser",)
        return fields

    @admin.display(description="Roles and teams")
    def roles(self, obj):
        return ", ".join(g.name for g in obj.groups.all())

    @admin.display(description="Account expires")
    def expires(self, obj):
        expiry = getattr(obj, "account_expiry", None)
        return expiry.expires_at if expiry else "never"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("account_expiry")
            .prefetch_related("groups")
        )


@admin.register(Group, site=registry_admin_site)
class AttestGroupAdmin(AuditedAdminMixin, GroupAdmin):
    """Memberships are edited on the user (an audited admin.user.change with the groups
    before and after). The role groups keep their names: roles are looked up by name."""

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.name in access.SYSTEM_GROUPS:
            fields += ("name",)
        return fields


@admin.register(AuditEvent, site=registry_admin_site)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: nobody edits or deletes audit events."""

    list_display = ("id", "occurred_at", "actor_username", "action", "target_repr", "source")
    list_filter = ("action", "source")
    search_fields = ("actor_username", "target_repr", "request_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RegistryAdminOnlyMixin:
    """Lifecycle settings belong to registry admins as a role, whatever Django model
    permissions their group carries (the admin site itself is closed to everyone else)."""

    def has_module_permission(self, request):
        return access.is_registry_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return access.is_registry_admin(request.user)

    def has_add_permission(self, request):
        return access.is_registry_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return access.is_registry_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return access.is_registry_admin(request.user)


@admin.register(ApprovalPolicy, site=registry_admin_site)
class ApprovalPolicyAdmin(AuditedAdminMixin, RegistryAdminOnlyMixin, admin.ModelAdmin):
    """Edits apply to requests opened afterwards: an open request keeps the policy it was
    opened under (TransitionRequest.policy)."""

    list_display = (
        "target_stage",
        "risk_class",
        "required_approvals",
        "groups",
        "require_model_card",
        "required_annex_iv_items",
        "require_risk_class",
        "required_metrics",
        "sla_hours",
    )
    list_filter = ("target_stage", "risk_class")
    filter_horizontal = ("required_groups",)
    ordering = ("target_stage", "risk_class")

    @admin.display(description="Required groups")
    def groups(self, obj):
        return ", ".join(g.name for g in obj.required_groups.all()) or "–"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("required_groups")


@admin.register(ProtectedAlias, site=registry_admin_site)
class ProtectedAliasAdmin(AuditedAdminMixin, RegistryAdminOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    readonly_fields = ("created_at",)


class DecisionInline(admin.TabularInline):
    model = Decision
    extra = 0
    can_delete = False
    fields = ("approver_username", "approver_groups", "outcome", "reason", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TransitionRequest, site=registry_admin_site)
class TransitionRequestAdmin(admin.ModelAdmin):
    """Read-only: requests change only through the lifecycle services (their audited
    decisions); the admin lists them for oversight."""

    list_display = (
        "id",
        "model_version",
        "target_stage",
        "kind",
        "status",
        "requested_by",
        "created_at",
        "decided_at",
    )
    list_filter = ("status", "target_stage", "kind")
    search_fields = ("model_version__registered_model__name", "justification")
    date_hierarchy = "created_at"
    inlines = [DecisionInline]
    list_select_related = ("model_version__registered_model", "requested_by")

    def has_module_permission(self, request):
        return access.is_registry_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return access.is_registry_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RiskClassDecisionInline(admin.TabularInline):
    model = RiskClassDecision
    extra = 0
    can_delete = False
    fields = ("approver_username", "approver_groups", "outcome", "reason", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RiskClassChangeRequest, site=registry_admin_site)
class RiskClassChangeRequestAdmin(admin.ModelAdmin):
    """Read-only: risk-class changes are decided on their request page (audited)."""

    list_display = (
        "id",
        "registered_model",
        "from_class",
        "to_class",
        "status",
        "requested_by_username",
        "created_at",
        "decided_at",
    )
    list_filter = ("status", "to_class")
    search_fields = ("registered_model__name", "rationale")
    inlines = [RiskClassDecisionInline]
    list_select_related = ("registered_model",)

    def has_module_permission(self, request):
        return access.is_registry_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return access.is_registry_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessAttempt, site=registry_admin_site)
class AccessAttemptAdmin(RegistryAdminOnlyMixin, admin.ModelAdmin):
    """django-axes' failed sign-in counters: who is locked out, and unlocking (audited)."""

    list_display = ("attempt_time", "username", "ip_address", "failures_since_start", "locked")
    list_filter = ("attempt_time",)
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
    fields = ("username", "ip_address", "user_agent", "path_info", "attempt_time")
    readonly_fields = fields
    actions = ["unlock_usernames", "unlock_addresses"]

    @admin.display(boolean=True, description="Locked")
    def locked(self, obj):
        return obj.failures_since_start >= settings.AXES_FAILURE_LIMIT

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # unlock with the actions, which are audited

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _unlock(self, request, values, field):
        for value in sorted(values):
            signin_unlock(actor=request.user, **{field: value})
        self.message_user(request, f"Unlocked {len(values)}: {', '.join(sorted(values))}.")

    @admin.action(description="Unlock the selected usernames")
    def unlock_usernames(self, request, queryset):
        self._unlock(request, {a.username for a in queryset if a.username}, "username")

    @admin.action(description="Unlock the selected addresses")
    def unlock_addresses(self, request, queryset):
        self._unlock(request, {a.ip_address for a in queryset if a.ip_address}, "ip_address")
