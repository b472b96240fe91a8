"""The "new report" form: a kind, a format, and what it covers. Names typed by the user
are looked up through `restrict(user, 'view')`; a model the user cannot see gets the same
answer as one that does not exist."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from governance import audit_log
from governance.models import Report
from governance.reports import kinds
from governance.reports.scope import ReportScope, version_of, visible_model
from registry.models import RiskClass
from registry.selectors import filter_teams

SCOPE_FIELDS = ("model", "version", "period_start", "period_end", "team", "risk_class")


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label="Report", error_messages={"required": "Choose a report."})
    format = forms.ChoiceField(
        label="Format",
        choices=Report.Format.choices,
        error_messages={"required": "Choose a format."},
    )
    model = forms.CharField(
        label="Model",
        required=False,
        max_length=128,
        help_text="The model's name. Required for technical documentation and evidence "
        "bundles; optional elsewhere to narrow the report to one model.",
    )
    version = forms.IntegerField(
        label="Version", required=False, min_value=1, help_text="The version number."
    )
    period_start = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Audit reports and audit trail exports cover a period; the others ignore it.",
    )
    period_end = forms.DateField(
        label="To (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    team = forms.ModelChoiceField(
        label="Team", required=False, queryset=None, empty_label="All teams"
    )
    risk_class = forms.ChoiceField(
        label="Risk class",
        required=False,
        choices=[("", "All risk classes"), *RiskClass.choices],
        help_text="Team and risk class narrow audit reports and inventories.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["kind"].choices = [(spec.kind, spec.label) for spec in available_kinds(user)]
        # The teams of the model list's filter: every team; the report itself only holds
        # what the requester may see (scope.resolve goes through restrict()).
        self.fields["team"].queryset = filter_teams()
        self.fields["format"].initial = Report.Format.PDF
        today = timezone.localdate()
        self.fields["period_start"].initial = today - timedelta(days=90)
        self.fields["period_end"].initial = today

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if not kind:
            return data
        spec = kinds.spec(kind)
        if data.get("format") and data["format"] not in spec.formats:
            # The service says the same; here it shows beside the form's other errors.
            offered = ", ".join(Report.Format(f).label for f in spec.formats)
            self.add_error("format", f"{spec.label} comes as {offered}.")
        for name in SCOPE_FIELDS:  # what this kind does not read is not part of its scope
            if name not in spec.scope_fields:
                data[name] = None
        scope = ReportScope(
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
            team=data.get("team"),
            risk_class=data.get("risk_class") or "",
        )
        name, number = (data.get("model") or "").strip(), data.get("version")
        if spec.needs_version and not (name and number):
            self.add_error(
                "model" if not name else "version",
                f"{spec.label} is about one version: give the model and the version number.",
            )
        if name:
            scope.model = visible_model(self.user, name)
            if scope.model is None:
                self.add_error("model", f"There is no model named “{name}” that you can see.")
            elif number:
                scope.version = version_of(scope.model, number)
                if scope.version is None:
                    self.add_error("version", f"{name} has no version {number}.")
        elif number:
            self.add_error("model", "Give the model the version belongs to.")
        data["scope"] = scope
        return data


def available_kinds(user) -> list[kinds.KindSpec]:
    readers = audit_log.can_read_audit_log(user)
    return [s for s in kinds.KINDS.values() if readers or not s.audit_readers_only]
