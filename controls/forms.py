from django import forms
from django.contrib.auth import get_user_model

from controls.models import Control, Finding, ManualEvidence


class _ServiceErrors:
    def add_service_errors(self, exc):
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, exc.messages)


def _users():
    return get_user_model().objects.filter(is_active=True).order_by("username")


class EvidenceForm(_ServiceErrors, forms.Form):
    kind = forms.ChoiceField(choices=ManualEvidence.Kind.choices)
    control = forms.ModelChoiceField(Control.objects.select_related("framework"), required=False)
    title = forms.CharField(max_length=300)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    owner = forms.ModelChoiceField(_users(), required=False)
    review_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    document = forms.FileField(required=False)


class ValidationForm(forms.Form):
    validated_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class FindingForm(forms.Form):
    title = forms.CharField(max_length=300)
    severity = forms.ChoiceField(choices=Finding.Severity.choices)
    owner = forms.ModelChoiceField(_users(), required=False)
    remediate_by = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
