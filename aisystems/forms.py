"""Forms for the AI system pages: they check the shape of the input; the services decide."""

from django import forms

from aisystems import questionnaire
from aisystems.models import AISystem, AnnexIII
from aisystems.services import EDITABLE
from registry.models import RiskClass


def add_service_errors(form: forms.Form, exc) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class _VersionChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.registered_model.name} v{obj.version}"


class SystemForm(forms.ModelForm):
    """The system's description. Models and versions are offered from what the user may
    change (and see); those already in the system stay selectable."""

    registered_models = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        label="Models it is built from",
        help_text="Models you can change. Each takes the system's risk class.",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    versions = _VersionChoice(
        queryset=None,
        required=False,
        label="Versions it runs",
        help_text="Optional: the versions of those models in the system.",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    class Meta:
        model = AISystem
        fields = list(EDITABLE)
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in (
                "intended_purpose",
                "provider_address",
                "deployer_address",
                "not_high_risk_reasoning",
                "interfaces",
                "software_versions",
                "update_requirements",
                "hardware",
                "deployer_interface",
                "instructions_for_use",
                "delivery_forms",
                "product_illustrations",
                "predetermined_changes",
                "cybersecurity",
                "input_specification",
            )
        } | {"placed_on_market_on": forms.DateInput(attrs={"type": "date"})}
        help_texts = {
            "not_high_risk_reasoning": "Required for an Annex III system that is not "
            "classified high-risk: which Art. 6(3) condition applies and why.",
            "instructions_for_use": "Art. 13: what the deployer needs to use it correctly.",
        }

    def __init__(self, *args, model_choices, version_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["registered_models"].queryset = model_choices
        self.fields["versions"].queryset = version_choices
        if self.instance.pk:
            self.initial.setdefault(
                "registered_models", list(self.instance.registered_models.all())
            )
            self.initial.setdefault("versions", list(self.instance.versions.all()))

    def _post_clean(self):
        # The services validate the instance (and its uniqueness) themselves.
        pass

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in EDITABLE if name in self.cleaned_data}


class RiskClassForm(forms.Form):
    risk_class = forms.ChoiceField(label="Risk class", choices=RiskClass.choices)
    rationale = forms.CharField(
        label="Rationale",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "A rationale is required."},
        help_text="Why this class: cite the classification or the article.",
    )


YES_NO = [("yes", "Yes"), ("no", "No")]


class ClassificationForm(forms.Form):
    """One field per question of aisystems.questionnaire, grouped by section."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for q in questionnaire.YES_NO_QUESTIONS:
            self.fields[q.key] = forms.ChoiceField(
                label=f"{q.article}: {q.text}",
                choices=YES_NO,
                widget=forms.RadioSelect,
                error_messages={"required": "Answer yes or no."},
            )
            self.fields[q.key].section = q.section
        q = questionnaire.ANNEX_QUESTION
        self.fields[q.key] = forms.ChoiceField(
            label=f"{q.article}: {q.text}", choices=AnnexIII.choices
        )
        self.fields[q.key].section = q.section
        self.fields["notes"] = forms.CharField(
            label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3})
        )
        self.fields["notes"].section = ""

    def sections(self):
        groups = {}
        for bound in self:
            groups.setdefault(bound.field.section, []).append(bound)
        return list(groups.items())

    def answers(self) -> dict:
        data = self.cleaned_data
        result = {q.key: data[q.key] == "yes" for q in questionnaire.YES_NO_QUESTIONS}
        result[questionnaire.ANNEX_QUESTION.key] = data[questionnaire.ANNEX_QUESTION.key]
        return result
