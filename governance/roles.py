"""The four role groups and their registry-wide permissions.

Per-model access is granted per object (django-guardian); these are the model-wide
rights each role starts with. Auditors get registry-wide view: they are read-only by
construction, and an admin can narrow this by removing the permission from the group.
Used by the data migration and again after every migrate/flush (idempotent).
"""

ROLE_PERMISSIONS = {
    "Data scientists": [("registry", "registeredmodel", ["add"])],
    "Approvers": [],
    "Auditors": [("registry", "registeredmodel", ["view"])],
    "Registry admins": [
        ("registry", "registeredmodel", ["view", "manage"]),
        ("registry", "registeredmodeluserobjectpermission", ["add", "change", "delete", "view"]),
        ("registry", "registeredmodelgroupobjectpermission", ["add", "change", "delete", "view"]),
        ("auth", "user", ["add", "change", "view"]),
        ("auth", "group", ["add", "change", "view"]),
        ("governance", "accountexpiry", ["add", "change", "delete", "view"]),
        ("governance", "auditevent", ["view"]),
    ],
}


def ensure_roles(apps) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, model, actions in grants:
            codenames = [f"{action}_{model}" for action in actions]
            perms = Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
            group.permissions.add(*perms)


DEFAULT_POLICIES = [
    # stage, risk class, approvals, groups, require model card, SLA hours
    ("Staging", "any", 1, [], False, 72),
    ("Production", "any", 1, [], False, 72),
    ("Production", "high", 2, ["Compliance"], True, 120),
]
DEFAULT_PROTECTED_ALIASES = ("champion", "production")

# Annex IV items a notified body cannot do without: the default of the high-risk
# Production policy's "required Annex IV items" (below, and migration 0016): keys of
# governance/reports/techdoc LAYOUT.
DEFAULT_REQUIRED_ITEMS = (
    "intended_purpose",
    "provider",
    "versions",
    "methods",
    "design",
    "training_data",
    "validation",
    "human_oversight_assessment",
    "foreseeable_risks",
    "oversight_measures",
    "metrics_appropriateness",
    "risk_management_measures",
    "standards_applied",
    "monitoring_plan",
)


def _has_annex_iv_items(policy_model) -> bool:
    # Migration 0005 runs this with a historical model that predates the field (0016).
    return any(f.name == "required_annex_iv_items" for f in policy_model._meta.get_fields())


def ensure_default_policies(apps) -> None:
    """A sensible default out of the box: one approval for Staging and Production, two for
    a high-risk model's Production (one from Compliance, with a complete model card and
    the Annex IV items a notified body cannot do without), and
    the protected aliases 'champion' and 'production'. Existing rows are left alone."""
    Group = apps.get_model("auth", "Group")
    Policy = apps.get_model("governance", "ApprovalPolicy")
    ProtectedAlias = apps.get_model("governance", "ProtectedAlias")
    for stage, risk, approvals, groups, card, sla in DEFAULT_POLICIES:
        policy, created = Policy.objects.get_or_create(
            target_stage=stage,
            risk_class=risk,
            defaults={
                "required_approvals": approvals,
                "require_model_card": card,
                "sla_hours": sla,
            },
        )
        if created and (stage, risk) == ("Production", "high") and _has_annex_iv_items(Policy):
            policy.required_annex_iv_items = ", ".join(DEFAULT_REQUIRED_ITEMS)
            policy.save(update_fields=["required_annex_iv_items"])
        if created:
            policy.required_groups.set([Group.objects.get_or_create(name=g)[0] for g in groups])
    for name in DEFAULT_PROTECTED_ALIASES:
        ProtectedAlias.objects.get_or_create(name=name)
