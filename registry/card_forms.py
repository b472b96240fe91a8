"""Forms for model cards: the editor (details and one markdown field per section) and the
README.md import."""

from django import forms

from registry.cards import (
    MAX_README_BYTES,
    MAX_SECTION_CHARS,
    METADATA_FIELDS,
    SECTIONS,
    CardImportError,
    decode_readme,
)


class ModelCardForm(forms.Form):
    base_revision = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    note = forms.CharField(
        required=False,
        max_length=500,
        label="What changed",
        help_text="Optional; shown in the card's history.",
    )

    def __init__(self, *args, required_keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        for f in METADATA_FIELDS:
            self.fields[f.key] = forms.CharField(
                required=False, max_length=2000, label=f.label, help_text=f.help
            )
        for section in SECTIONS:
            self.fields[section.key] = forms.CharField(
                required=False,
                strip=False,
                max_length=MAX_SECTION_CHARS,
                label=section.title,
                help_text=section.help,
                widget=forms.Textarea(attrs={"rows": 5, "class": "markdown-input"}),
            )
            self.fields[section.key].card_required = section.key in required_keys
        # The details come first, then the sections, then the note.
        self.order_fields([f.key for f in METADATA_FIELDS] + [s.key for s in SECTIONS])

    @staticmethod
    def initial_for(card) -> dict:
        initial = {"base_revision": card.revision_count}
        for f in METADATA_FIELDS:
            value = card.metadata.get(f.key)
            initial[f.key] = ", ".join(value) if isinstance(value, list) else (value or "")
        for section in SECTIONS:
            initial[section.key] = card.sections.get(section.key, "")
        return initial

    def metadata_fields(self):
        return [self[f.key] for f in METADATA_FIELDS]

    def section_fields(self):
        return [(section, self[section.key]) for section in SECTIONS]

    def sections(self) -> dict:
        return {s.key: self.cleaned_data.get(s.key, "") for s in SECTIONS}

    def metadata(self) -> dict:
        return {f.key: self.cleaned_data.get(f.key, "") for f in METADATA_FIELDS}


class CardImportForm(forms.Form):
    readme = forms.FileField(
        label="README.md",
        help_text=(
            "A Hugging Face model card: YAML front matter and markdown sections. "
            f"At most {MAX_README_BYTES // 1024} KB."
        ),
    )

    def clean_readme(self):
        upload = self.cleaned_data["readme"]
        if upload.size > MAX_README_BYTES:
            raise forms.ValidationError(
                f"README.md files are limited to {MAX_README_BYTES // 1024} KB."
            )
        try:
            text = decode_readme(upload.read(MAX_README_BYTES + 1))
        except CardImportError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return {"name": upload.name, "text": text}
