"""AI systems: the thing the EU AI Act regulates, built from registered models.

An `AISystem` groups the registered models (and, optionally, the versions) it is built
from, and carries what the Act asks of its provider: roles and legal entities, intended
purpose, the Annex III category (or the Art. 6(3) reasoning for not being high-risk), the
Annex IV point 1 descriptions, placing on the market, and the risk class its models inherit.

Nothing here is visible without a rule: `AISystemQuerySet.restrict()` decides from the
member models' grants, through `restrict()` on `RegisteredModel`."""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from governance import access
from registry.models import ModelVersion, RegisteredModel, RiskClass


class AnnexIII(models.TextChoices):
    """Where a system sits for Art. 6: an Annex III area (point 1 to 8), a safety component
    of a product under Annex I (Art. 6(1)), or neither."""

    NONE = "none", "Not in Annex III nor Annex I"
    ANNEX_I = "annex_i", "Art. 6(1): safety component of a product under Annex I"
    BIOMETRICS = "biometrics", "Annex III 1: biometrics"
    CRITICAL_INFRASTRUCTURE = "critical_infrastructure", "Annex III 2: critical infrastructure"
    EDUCATION = "education", "Annex III 3: education and vocational training"
    EMPLOYMENT = "employment", "Annex III 4: employment, workers management"
    ESSENTIAL_SERVICES = "essential_services", "Annex III 5: essential private and public services"
    LAW_ENFORCEMENT = "law_enforcement", "Annex III 6: law enforcement"
    MIGRATION = "migration", "Annex III 7: migration, asylum and border control"
    JUSTICE = "justice", "Annex III 8: administration of justice and democratic processes"


RETENTION_YEARS = 10  # Art. 18(1)
ANNEX_III_AREAS = frozenset(AnnexIII.values) - {AnnexIII.NONE, AnnexIII.ANNEX_I}


class OperatorRole(models.TextChoices):
    PROVIDER = "provider", "Provider"
    DEPLOYER = "deployer", "Deployer"
    BOTH = "provider_and_deployer", "Provider and deployer"


class MarketStatus(models.TextChoices):
    IN_DEVELOPMENT = "in_development", "In development"
    PLACED_ON_MARKET = "placed_on_market", "Placed on the market"
    IN_SERVICE = "in_service", "Put into service"
    WITHDRAWN = "withdrawn", "Withdrawn"
    RECALLED = "recalled", "Recalled"


class AISystemQuerySet(models.QuerySet):
    """`restrict(user, action)` for AI systems, decided by their member models' grants:

    - view: the user may view at least one member model; a system with no member yet is
      seen by its owner only;
    - change (and any other write): the user may do it on *every* member model (a change
      to the system, such as its risk class, reaches all of them); a system with no member
      yet is changed by its owner only (approved by nobody: approve needs its models).

    Auditors write nothing; anonymous and inactive users see nothing. One query: `Exists`
    subqueries over the membership table, filtered by `RegisteredModel.restrict()`."""

    def restrict(self, user, action: str = "view", *, few_rows: bool = False):
        if action not in access.ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if action in access.WRITE_ACTIONS and access.is_auditor(user):
            return self.none()
        members = AISystemModel.objects.filter(system=OuterRef("pk"))
        allowed = RegisteredModel.objects.restrict(user, action).values("pk")
        orphan_of_user = ~Exists(members) & Q(owner=user.pk)
        if action == "approve":
            orphan_of_user = Q(pk__in=[])  # approving needs approvers of real models
        if action == "view":
            return self.filter(
                Exists(members.filter(registered_model__in=allowed)) | orphan_of_user
            )
        every_member = Exists(members) & ~Exists(members.exclude(registered_model__in=allowed))
        return self.filter(every_member | orphan_of_user)


class SystemRecordQuerySet(models.QuerySet):
    """For rows that belong to an AI system (classifications, register entries): the rows
    of the systems `restrict()` lets the user `action`. The model names its path to the
    system in `system_path` (default "system")."""

    def restrict(self, user, action: str = "view", *, few_rows: bool = False):
        path = getattr(self.model, "system_path", "system")
        systems = AISystem.objects.restrict(user, action).values("pk")
        return self.filter(**{f"{path}__in": systems})


class AISystem(models.Model):
    name = models.CharField(max_length=200, unique=True)
    intended_purpose = models.TextField()
    operator_role = models.CharField(
        "our role", max_length=32, choices=OperatorRole.choices, default=OperatorRole.PROVIDER
    )
    provider_name = models.CharField("provider (legal name)", max_length=300)
    provider_address = models.TextField("provider's address")
    deployer_name = models.CharField("deployer (legal name)", max_length=300, blank=True)
    deployer_address = models.TextField("deployer's address", blank=True)
    annex_iii_category = models.CharField(
        "Annex III category", max_length=32, choices=AnnexIII.choices, default=AnnexIII.NONE
    )
    not_high_risk_reasoning = models.TextField("Art. 6(3) reasoning", blank=True)
    # Annex IV point 1
    interfaces = models.TextField("interaction with other systems (Annex IV 1(b))", blank=True)
    software_versions = models.TextField("software and versions (Annex IV 1(c))", blank=True)
    update_requirements = models.TextField("update requirements (Annex IV 1(c))", blank=True)
    hardware = models.TextField("hardware (Annex IV 1(e))", blank=True)
    delivery_forms = models.TextField(
        "forms it is placed on the market in (Annex IV 1(d))", blank=True
    )
    product_illustrations = models.TextField(
        "product photographs or illustrations (Annex IV 1(f))",
        blank=True,
        help_text="Only for a component of a product: where the photographs or illustrations "
        "of its external features, marking and internal layout are kept.",
    )
    deployer_interface = models.TextField("deployer's interface (Annex IV 1(g))", blank=True)
    instructions_for_use = models.TextField("instructions for use (Annex IV 1(h))", blank=True)
    predetermined_changes = models.TextField(
        "pre-determined changes (Annex IV 2(f))",
        blank=True,
        help_text="Changes to the system and its performance planned at the first conformity "
        "assessment, or “None planned”.",
    )
    cybersecurity = models.TextField("cybersecurity measures (Annex IV 2(h))", blank=True)
    input_specification = models.TextField("input data specification (Annex IV 3)", blank=True)
    market_status = models.CharField(
        max_length=24, choices=MarketStatus.choices, default=MarketStatus.IN_DEVELOPMENT
    )
    placed_on_market_on = models.DateField("placed on the market on", null=True, blank=True)
    # The class the member models inherit; changed only by aisystems.services, through the
    # models' governed risk-class change. `pending_risk_class` is a change waiting for
    # Compliance on at least one member model.
    risk_class = models.CharField(
        max_length=16, choices=RiskClass.choices, default=RiskClass.UNCLASSIFIED, editable=False
    )
    pending_risk_class = models.CharField(max_length=16, blank=True, editable=False)
    registered_models = models.ManyToManyField(
        RegisteredModel, through="AISystemModel", related_name="ai_systems", blank=True
    )
    versions = models.ManyToManyField(ModelVersion, related_name="ai_systems", blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AISystemQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "AI system"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("aisystems:system-detail", args=[self.pk])

    @property
    def in_annex_iii(self) -> bool:
        return self.annex_iii_category in ANNEX_III_AREAS

    @property
    def retention_until(self):
        """Art. 18(1): the documentation is kept for 10 years after the system was placed on
        the market or put into service (None while that date is not recorded)."""
        placed = self.placed_on_market_on
        if placed is None:
            return None
        try:
            return placed.replace(year=placed.year + RETENTION_YEARS)
        except ValueError:  # 29 February
            return placed.replace(year=placed.year + RETENTION_YEARS, day=28)

    def get_pending_risk_class_display(self) -> str:
        return dict(RiskClass.choices).get(self.pending_risk_class, self.pending_risk_class)


class AISystemModel(models.Model):
    """A registered model the system is built from."""

    system = models.ForeignKey(AISystem, on_delete=models.CASCADE, related_name="memberships")
    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="ai_system_memberships"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "registered_model"], name="aisystem_member")
        ]
        indexes = [models.Index(fields=["registered_model", "system"], name="aisystem_by_model")]

    def __str__(self):
        return f"{self.registered_model} in {self.system}"


class Classification(models.Model):
    """One run of the risk-classification questionnaire: the answers as given and the
    result they lead to, kept as evidence (never edited; a new run is a new row)."""

    system = models.ForeignKey(AISystem, on_delete=models.CASCADE, related_name="classifications")
    answers = models.JSONField()
    prohibited = models.BooleanField(default=False)
    result_class = models.CharField(max_length=16, choices=RiskClass.choices)
    reasons = models.JSONField(default=list)
    transparency_duties = models.JSONField(default=list)
    notes = models.TextField(blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    performed_by_username = models.CharField(max_length=150)
    performed_at = models.DateTimeField(auto_now_add=True)

    objects = SystemRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-performed_at", "-pk"]

    def __str__(self):
        return f"Classification #{self.pk} of {self.system}"
