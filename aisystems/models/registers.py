"""Register entries: one abstract base (system, title, owner, dates) and one model per
register. Every row is reached through its system (`SystemRecordQuerySet`)."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from aisystems.models.systems import AISystem, SystemRecordQuerySet
from registry.models import ModelVersion

SCALE = [(1, "1 very low"), (2, "2 low"), (3, "3 medium"), (4, "4 high"), (5, "5 very high")]


class RegisterEntry(models.Model):
    kind = ""  # the register's URL slug (aisystems.registers.specs)

    system = models.ForeignKey(AISystem, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who is responsible for this entry.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SystemRecordQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-updated_at", "-pk"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("aisystems:register-detail", args=[self.system_id, self.kind, self.pk])


class RiskEntry(RegisterEntry):
    """Art. 9: a known or foreseeable risk, estimated before and after its mitigations."""

    kind = "risks"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MITIGATED = "mitigated", "Mitigated"
        ACCEPTED = "accepted", "Residual risk accepted"
        CLOSED = "closed", "Closed"

    hazard = models.TextField("hazard and who it affects")
    likelihood = models.PositiveSmallIntegerField(choices=SCALE)
    severity = models.PositiveSmallIntegerField(choices=SCALE)
    mitigations = models.TextField(blank=True)
    mitigation_versions = models.ManyToManyField(
        ModelVersion, blank=True, related_name="+", verbose_name="versions that mitigate it"
    )
    evidence = models.TextField(
        blank=True, help_text="Test reports, documents or links that show the mitigation works."
    )
    residual_likelihood = models.PositiveSmallIntegerField(choices=SCALE, null=True, blank=True)
    residual_severity = models.PositiveSmallIntegerField(choices=SCALE, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    review_on = models.DateField("next review")
    source = models.CharField(max_length=300, blank=True, editable=False)

    @property
    def score(self) -> int:
        return self.likelihood * self.severity

    @property
    def residual_score(self) -> int | None:
        if self.residual_likelihood is None or self.residual_severity is None:
            return None
        return self.residual_likelihood * self.residual_severity

    @property
    def review_overdue(self) -> bool:
        return self.status not in ("closed",) and self.review_on < timezone.localdate()


class Incident(RegisterEntry):
    """Art. 73: a serious incident, its legal reporting deadline, corrective actions, the
    report's approval (four-eyes) and sending."""

    kind = "incidents"

    class Category(models.TextChoices):
        DEATH = "death", "Death of a person (Art. 3(49)(a))"
        HEALTH = "health", "Serious harm to a person's health (Art. 3(49)(a))"
        CRITICAL_INFRASTRUCTURE = (
            "critical_infrastructure",
            "Serious and irreversible disruption of critical infrastructure (Art. 3(49)(b))",
        )
        WIDESPREAD = "widespread", "Widespread infringement (Art. 3(61))"
        FUNDAMENTAL_RIGHTS = (
            "fundamental_rights",
            "Infringement of obligations protecting fundamental rights (Art. 3(49)(c))",
        )
        PROPERTY = "property", "Serious harm to property or the environment (Art. 3(49)(d))"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        REPORTED = "reported", "Reported to the authority"
        CLOSED = "closed", "Closed"

    description = models.TextField()
    category = models.CharField(max_length=32, choices=Category.choices)
    occurred_at = models.DateTimeField("occurred at")
    aware_at = models.DateTimeField("provider became aware at")
    corrective_actions = models.TextField(blank=True)
    authority = models.CharField("market surveillance authority", max_length=300, blank=True)
    report_reference = models.CharField(max_length=200, blank=True)
    report_sent_at = models.DateTimeField("report sent at", null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    approved_by_username = models.CharField(max_length=150, blank=True, editable=False)
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Art. 73(2)-(4): 15 days; 2 for a widespread infringement or a serious incident under
    # Art. 3(49)(b) (critical infrastructure); 10 for a death.
    DEADLINE_DAYS = {"death": 10, "critical_infrastructure": 2, "widespread": 2}

    @property
    def deadline_days(self) -> int:
        return self.DEADLINE_DAYS.get(self.category, 15)

    @property
    def deadline(self):
        return self.aware_at + timedelta(days=self.deadline_days)

    def time_left(self, now=None) -> timedelta:
        return self.deadline - (now or timezone.now())

    @property
    def overdue(self) -> bool:
        return self.report_sent_at is None and self.time_left() < timedelta(0)


class MonitoringMetric(RegisterEntry):
    """Art. 72: what the post-market monitoring plan measures, with its thresholds. A
    value outside them opens a review in the risk register."""

    kind = "monitoring"

    plan = models.TextField("what is collected, how and how often")
    metric_key = models.SlugField("metric key", max_length=100)
    lower_threshold = models.FloatField(null=True, blank=True)
    upper_threshold = models.FloatField(null=True, blank=True)

    @property
    def bounds_text(self) -> str:
        """The thresholds in words: "at most 0.05", "at least 0.8", "0.8 to 0.95"."""
        low, high = self.lower_threshold, self.upper_threshold
        if low is not None and high is not None:
            return f"{low:g} to {high:g}"
        if high is not None:
            return f"at most {high:g}"
        if low is not None:
            return f"at least {low:g}"
        return "no threshold"

    def breaches(self, value: float) -> bool:
        low, high = self.lower_threshold, self.upper_threshold
        return (low is not None and value < low) or (high is not None and value > high)


class MetricObservation(models.Model):
    system_path = "metric__system"

    metric = models.ForeignKey(
        MonitoringMetric, on_delete=models.CASCADE, related_name="observations"
    )
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    value = models.FloatField()
    observed_at = models.DateTimeField()
    breach = models.BooleanField(default=False)
    review = models.ForeignKey(
        RiskEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=8, default="form")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = SystemRecordQuerySet.as_manager()

    class Meta:
        ordering = ["observed_at", "pk"]
        indexes = [models.Index(fields=["metric", "observed_at"], name="observation_by_time")]

    def __str__(self):
        return f"{self.metric.metric_key}={self.value} at {self.observed_at:%Y-%m-%d}"


class Dataset(RegisterEntry):
    """Art. 10: a data set as a record, linked to the versions trained and evaluated on it."""

    kind = "datasets"

    provenance = models.TextField("provenance and original purpose")
    collection = models.TextField("collection process")
    labelling_cleaning = models.TextField("labelling and cleaning", blank=True)
    bias_examination = models.TextField("examination for possible biases", blank=True)
    known_gaps = models.TextField("known gaps and shortcomings", blank=True)
    trained_versions = models.ManyToManyField(
        ModelVersion, blank=True, related_name="+", verbose_name="versions trained on it"
    )
    evaluated_versions = models.ManyToManyField(
        ModelVersion, blank=True, related_name="+", verbose_name="versions evaluated on it"
    )


class RightsAssessment(RegisterEntry):
    """Art. 27: the fundamental-rights impact assessment a deployer makes before first use."""

    kind = "fria"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        COMPLETE = "complete", "Complete"
        NOTIFIED = "notified", "Authority notified"

    processes = models.TextField("the deployer's processes it is used in (Art. 27(1)(a))")
    period_frequency = models.TextField("period and frequency of use (b)")
    affected_persons = models.TextField("categories of persons and groups affected (c)")
    risks_of_harm = models.TextField("specific risks of harm to them (d)")
    human_oversight = models.TextField("human oversight measures (e)")
    measures = models.TextField("measures if the risks materialise, complaints (f)")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    notified_on = models.DateField(
        "market surveillance authority notified on", null=True, blank=True
    )


class Conformity(RegisterEntry):
    """Art. 43, 47, 48, 49: the assessment route, the notified body's certificate, the EU
    declaration of conformity, CE marking and EU database registration."""

    kind = "conformity"

    class Route(models.TextChoices):
        ANNEX_VI = "annex_vi", "Annex VI: internal control"
        ANNEX_VII = "annex_vii", "Annex VII: quality management system and notified body"

    class Marking(models.TextChoices):
        NOT_AFFIXED = "not_affixed", "Not affixed"
        AFFIXED = "affixed", "Affixed"
        DIGITAL = "digital", "Digital CE marking"

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETE = "complete", "Complete"

    route = models.CharField(max_length=16, choices=Route.choices)
    notified_body = models.CharField("notified body (name and number)", max_length=300, blank=True)
    certificate_number = models.CharField(max_length=200, blank=True)
    certificate_valid_from = models.DateField(null=True, blank=True)
    certificate_valid_until = models.DateField(null=True, blank=True)
    declaration_signed_on = models.DateField("EU declaration signed on", null=True, blank=True)
    declaration_signatory = models.CharField(
        "signed by (name and function)", max_length=300, blank=True
    )
    ce_marking = models.CharField(
        "CE marking", max_length=16, choices=Marking.choices, default=Marking.NOT_AFFIXED
    )
    eu_database_number = models.CharField(
        "EU database registration number (Art. 49, 71)", max_length=100, blank=True
    )
    standards = models.TextField("harmonised standards or common specifications", blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)

    @property
    def certificate_valid(self) -> bool | None:
        if self.certificate_valid_until is None:
            return None
        today = timezone.localdate()
        start = self.certificate_valid_from or today
        return start <= today <= self.certificate_valid_until
