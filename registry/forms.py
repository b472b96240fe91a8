import csv
import io
import json

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from registry.models import ModelVersion, Param
from registry.models.records import model_name_validator
from registry.services.common import parse_tags
from registry.services.models import teams_for
from registry.uploads import INTERRUPTED_MESSAGE

MAX_PARAMS_FILE_BYTES = 1024 * 1024


class TagsField(forms.CharField):
    """Free text 'key=value, other' parsed into a dict."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Comma separated; key or key=value, e.g. team=fraud, pii")
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return parse_tags(value)


class RegisteredModelForm(forms.Form):
    name = forms.CharField(
        max_length=128,
        validators=[model_name_validator],
        help_text="Unique and URL-safe: letters, digits, dots, dashes, underscores.",
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, help_text="Markdown."
    )
    team = forms.ModelChoiceField(queryset=None, help_text="The group that owns this model.")
    tags = TagsField()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_for(user)


class ModelEditForm(forms.Form):
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), required=False, help_text="Markdown."
    )
    tags = TagsField()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class VersionUploadForm(forms.Form):
    files = MultipleFileField(
        required=False,
        allow_empty_file=True,  # clean_files says which file is empty
        label="Artifact files",
        help_text="One or more files: the model, its environment, anything it needs.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    run_id = forms.CharField(max_length=100, required=False, label="Training run id")
    run_link = forms.URLField(
        max_length=1000, required=False, label="Training run link", assume_scheme="https"
    )
    code_repository = forms.CharField(max_length=500, required=False)
    code_commit = forms.CharField(max_length=100, required=False)
    dataset_name = forms.CharField(max_length=250, required=False, label="Training dataset")
    dataset_version = forms.CharField(max_length=100, required=False)
    dataset_uri = forms.CharField(max_length=1000, required=False, label="Dataset URI")
    dataset_hash = forms.CharField(max_length=200, required=False)
    framework = forms.CharField(max_length=100, required=False, help_text="e.g. scikit-learn")
    framework_version = forms.CharField(max_length=50, required=False)
    tags = TagsField()
    params_file = forms.FileField(
        required=False,
        label="Parameters file",
        help_text="Optional JSON object or CSV with key,value columns; merged with the rows.",
    )

    def __init__(self, *args, oversize=(), max_bytes=None, interrupted=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._oversize = list(oversize)
        self._max_bytes = max_bytes
        self._interrupted = interrupted

    def full_clean(self):
        super().full_clean()
        if self._interrupted:  # unbound on purpose: nothing of a cut-off request is kept
            self._errors[NON_FIELD_ERRORS] = self.error_class(
                [INTERRUPTED_MESSAGE], error_class="nonfield", renderer=self.renderer
            )

    def clean_files(self):
        files = self.cleaned_data.get("files") or []
        if self._oversize:
            from registry.storage import human_size

            names = ", ".join(self._oversize)
            raise ValidationError(
                f"{names}: larger than the {human_size(self._max_bytes)} limit for one file."
            )
        if not files:
            raise ValidationError("Add at least one artifact file.")
        for upload in files:
            if upload.size == 0:
                raise ValidationError(f"{upload.name} is empty.")
        return files

    def clean_params_file(self):
        upload = self.cleaned_data.get("params_file")
        if not upload:
            return {}
        if upload.size > MAX_PARAMS_FILE_BYTES:
            raise ValidationError("The parameters file is larger than 1 MB.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError("The parameters file is not UTF-8 text.") from exc
        return parse_params_text(text, upload.name)

    def lineage(self) -> dict:
        return {
            f: self.cleaned_data.get(f, "")
            for f in ModelVersion.LINEAGE_FIELDS
            if f in self.cleaned_data
        }


def parse_params_text(text: str, filename: str = "") -> dict[str, str]:
    """Parameters from a JSON object or a two-column CSV (an optional key,value header)."""
    stripped = text.strip()
    if filename.lower().endswith(".json") or stripped.startswith(("{", "[")):
        try:
            data = json.loads(stripped, object_pairs_hook=_json_pairs)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"The parameters file is not valid JSON: {exc.msg} (line {exc.lineno})."
            ) from exc
        if not isinstance(data, dict):
            raise ValidationError("The JSON parameters file must hold one object of key: value.")
        params = {}
        for key, value in data.items():
            if not key.strip():
                raise ValidationError("An entry in the parameters file has no key.")
            params[key.strip()] = value if isinstance(value, str) else json.dumps(value)
            _check_param(key.strip(), params[key.strip()])
        return params
    params: dict[str, str] = {}
    for number, row in enumerate(csv.reader(io.StringIO(stripped)), start=1):
        if not row or not "".join(row).strip():
            continue
        if number == 1 and [c.strip().lower() for c in row[:2]] == ["key", "value"]:
            continue
        if len(row) < 2:
            raise ValidationError(f"Line {number} of the parameters file needs key,value.")
        key, value = row[0].strip(), row[1].strip()
        if not key:
            raise ValidationError(f"Line {number} of the parameters file has no key.")
        if key in params and params[key] != value:
            raise ValidationError(
                f"Line {number} of the parameters file gives {key} a second, different value."
            )
        _check_param(key, value)
        params[key] = value
    return params


def _json_pairs(pairs):
    """A JSON object, refusing a key given twice with different values."""
    data = {}
    for key, value in pairs:
        if key in data and data[key] != value:
            raise ValidationError(f"The parameters file gives {key} two different values.")
        data[key] = value
    return data


def _check_param(key: str, value: str) -> None:
    """The same limits as the rows (and the database columns) for what comes from a file."""
    key_max = Param._meta.get_field("key").max_length
    value_max = Param._meta.get_field("value").max_length
    if len(key) > key_max:
        raise ValidationError(f"Parameter {key[:40]}… has a name longer than {key_max} characters.")
    if len(value) > value_max:
        raise ValidationError(f"The value of {key} is longer than {value_max} characters.")


class MetricRowForm(forms.Form):
    name = forms.CharField(max_length=250, required=False)
    value = forms.FloatField(required=False)
    dataset = forms.CharField(max_length=250, required=False, label="Dataset / slice")

    def clean(self):
        data = super().clean()
        name, value = data.get("name"), data.get("value")
        if name and value is None and "value" not in self.errors:
            self.add_error("value", "Enter the metric's value.")
        if value is not None and not name:
            self.add_error("name", "Name this metric.")
        return data


class ParamRowForm(forms.Form):
    key = forms.CharField(max_length=250, required=False)
    value = forms.CharField(max_length=6000, required=False)

    def clean(self):
        data = super().clean()
        if data.get("value") and not data.get("key"):
            self.add_error("key", "Name this parameter.")
        return data


MetricFormSet = forms.formset_factory(MetricRowForm, extra=3, max_num=500)
ParamFormSet = forms.formset_factory(ParamRowForm, extra=3, max_num=2000)


def collect_metrics(formset) -> list[dict]:
    return [
        {
            "name": f.cleaned_data["name"],
            "value": f.cleaned_data["value"],
            "dataset": f.cleaned_data.get("dataset", ""),
        }
        for f in formset.forms
        if f.cleaned_data.get("name")
    ]


def collect_params(formset, from_file: dict) -> dict[str, str]:
    params = dict(from_file)
    from_rows: dict[str, str] = {}
    for f in formset.forms:
        key = f.cleaned_data.get("key")
        if key:
            value = f.cleaned_data.get("value", "")
            if key in from_rows and from_rows[key] != value:
                f.add_error("key", f"{key} is given twice with different values.")
            elif key in from_file and from_file[key] != value:
                f.add_error("key", f"{key} is also in the parameters file with another value.")
            from_rows[key] = value
            params[key] = value
    return params
