"""One ModelForm per register, built from its spec: dates and times get native inputs,
version links offer only the versions of the system's models the user may see, and the
owner is chosen from the user's teams and Compliance."""

from django import forms
from django.contrib.auth import get_user_model
from django.db import models as db_models
from django.db.models import Q

from aisystems.registers.specs import Register
from governance import access
from registry.models import ModelVersion


class _VersionChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.registered_model.name} v{obj.version}"


def owner_choices(user, current=None):
    teams = user.groups.exclude(name__in=access.SYSTEM_GROUPS)
    people = Q(pk=user.pk) | Q(groups__in=teams) | Q(groups__name=access.ROLE_COMPLIANCE)
    if current is not None:
        people |= Q(pk=current.pk)
    return (
        get_user_model()
        .objects.filter(people, is_active=True)
        .exclude(groups__name=access.ROLE_AUDITORS)
        .distinct()
        .order_by("username")
    )


def _widget(field):
    if isinstance(field, db_models.DateTimeField):
        return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    if isinstance(field, db_models.DateField):
        return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    if isinstance(field, db_models.TextField):
        return forms.Textarea(attrs={"rows": 3})
    return None


def entry_form_class(spec: Register):
    form_fields = [f for f in spec.fields if f not in spec.version_fields]
    form_widgets = {}
    for name in form_fields:
        widget = _widget(spec.model._meta.get_field(name))
        if widget is not None:
            form_widgets[name] = widget

    class EntryForm(forms.ModelForm):
        class Meta:
            model = spec.model
            fields = form_fields
            widgets = form_widgets

        def __init__(self, *args, user, system, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["owner"].queryset = owner_choices(user, self.instance.owner)
            self.fields["owner"].required = False
            self.fields["owner"].help_text = "Who is responsible; yourself if left empty."
            versions = (
                ModelVersion.objects.restrict(user, "view")
                .filter(registered_model__ai_system_memberships__system=system)
                .select_related("registered_model")
                .order_by("registered_model__name", "-version")
            )
            for name in spec.version_fields:
                model_field = spec.model._meta.get_field(name)
                self.fields[name] = _VersionChoice(
                    queryset=versions,
                    required=False,
                    label=model_field.verbose_name[:1].upper() + model_field.verbose_name[1:],
                    widget=forms.SelectMultiple(attrs={"size": 5}),
                )
                if self.instance.pk:
                    self.initial[name] = list(getattr(self.instance, name).all())

        def _post_clean(self):
            pass  # the services validate the entry

        def service_data(self) -> dict:
            return {k: v for k, v in self.cleaned_data.items() if k not in spec.version_fields}

        def versions(self) -> dict:
            return {name: list(self.cleaned_data[name]) for name in spec.version_fields}

    return EntryForm


class ObservationForm(forms.Form):
    value = forms.FloatField(label="Observed value")
    observed_at = forms.DateTimeField(
        label="Observed at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Now if left empty.",
    )

    def __init__(self, *args, user, system, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_version"] = forms.ModelChoiceField(
            queryset=ModelVersion.objects.restrict(user, "view")
            .filter(registered_model__ai_system_memberships__system=system)
            .select_related("registered_model")
            .order_by("registered_model__name", "-version"),
            required=False,
            label="Version",
        )
        self.fields["model_version"].label_from_instance = lambda v: (
            f"{v.registered_model.name} v{v.version}"
        )
