"""Model card pages: the card, its editor with a live preview, its history and diffs, the
README.md import, and the exports (README.md, a print page, PDF)."""

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.views import ServiceFormView
from governance import access
from governance.object_permissions import ObjectPermissionMixin
from registry import selectors
from registry.card_forms import CardImportForm, ModelCardForm
from registry.cards import (
    METADATA_FIELDS,
    SECTIONS,
    card_completeness,
    card_locked,
    card_of,
    clean_metadata,
    completeness_of,
    has_sliced_metrics,
    hf_readme,
    required_section_keys,
    sections_diff,
    slice_table,
)
from registry.csp import document_policy
from registry.markdown import render_markdown
from registry.models import ModelVersion
from registry.pdf import document_anchor, html_to_pdf
from registry.services.cards import card_edit_check, card_import, card_save


def _version(request, name, number, action="view"):
    version = selectors.version_get(request.user, name, number, action)
    metrics = list(version.metrics.all())
    return version, card_of(version), metrics


def _details(card) -> list[tuple[str, str]]:
    metadata = clean_metadata(card.metadata)
    rows = []
    for f in METADATA_FIELDS:
        value = metadata.get(f.key)
        rows.append((f.label, ", ".join(value) if isinstance(value, list) else (value or "")))
    return rows


def _card_context(request, version, card, metrics) -> dict:
    completeness = card_completeness(card, metrics)
    required = set(required_section_keys())
    filled = {s.key for s in completeness.filled_sections}
    can_change = access.allows(request.user, version.registered_model, "change")
    locked = card_locked(version)
    return {
        "model": version.registered_model,
        "version": version,
        "card": card,
        "sections": [
            (s, card.sections.get(s.key, ""), s.key in required, s.key in filled) for s in SECTIONS
        ],
        "details": _details(card),
        "slices": slice_table(metrics),
        "overall_metrics": [m for m in metrics if not m.dataset],
        "completeness": completeness,
        "locked": locked,
        "can_change": can_change,
        "can_edit": can_change and not locked,
    }


@require_GET
def card_detail(request, name, number):
    version, card, metrics = _version(request, name, number)
    return render(
        request, "registry/card_detail.html", _card_context(request, version, card, metrics)
    )


def _preview_url(version) -> str:
    return reverse("registry:card-preview", args=[version.registered_model.name, version.version])


def _live_preview_attrs(form, version):
    """htmx attributes: each field posts the form to the preview endpoint as you type."""
    url = _preview_url(version)
    for key, field in form.fields.items():
        if key in ("base_revision", "note"):
            continue
        section = key if key in {s.key for s in SECTIONS} else "model_details"
        field.widget.attrs.update(
            {
                "hx-post": url,
                "hx-trigger": "input changed delay:300ms",
                "hx-target": f"#preview-{section}",
                "hx-swap": "innerHTML",
                "hx-vals": json.dumps({"_preview": section}),
                "hx-sync": "closest form:replace",
            }
        )


def _previews(sections: dict) -> dict[str, str]:
    return {s.key: render_markdown(sections.get(s.key, "")) for s in SECTIONS}


def _posted_completeness(request, metrics):
    sections = {s.key: request.POST.get(s.key, "") for s in SECTIONS}
    metadata = clean_metadata({f.key: request.POST.get(f.key, "") for f in METADATA_FIELDS})
    return sections, completeness_of(sections, metadata, has_slices=has_sliced_metrics(metrics))


class _CardWrite(ObjectPermissionMixin, ServiceFormView):
    """A write to a version's card: change permission, refused once the card is locked."""

    queryset = ModelVersion.objects.select_related("registered_model__team", "created_by")
    lookup = {"registered_model__name": "name", "version": "number"}
    action = "change"

    def prepare(self):
        super().prepare()
        card_edit_check(actor=self.request.user, version=self.object)  # CardLocked: a 403
        self.card, self.metrics = card_of(self.object), list(self.object.metrics.all())

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            model=self.object.registered_model, version=self.object, **kwargs
        )

    def card_url(self, name: str) -> str:
        return reverse(name, args=[self.object.registered_model.name, self.object.version])


class CardEdit(_CardWrite):
    """The editor. "Preview" posts render the page with the typed text and save nothing; a
    save based on an older revision than the card's is a conflict (409)."""

    template_name = "registry/card_edit.html"

    def get_form(self):
        self.required = required_section_keys()
        form = ModelCardForm(
            self.request.POST if self.request.method == "POST" else None,
            initial=ModelCardForm.initial_for(self.card),
            required_keys=self.required,
        )
        _live_preview_attrs(form, self.object)
        return form

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if form.is_valid() and "preview" not in request.POST:
            return self.form_valid(form)
        return self.render_form(form, status=400 if form.errors else 200)

    def perform(self, form):
        return card_save(
            actor=self.request.user,
            version=self.object,
            sections=form.sections(),
            metadata=form.metadata(),
            expected_revision=form.cleaned_data["base_revision"],
            note=form.cleaned_data["note"],
        )

    def service_error(self, form, exc):
        self.invalid_status = 409 if getattr(exc, "code", "") == "conflict" else 400
        super().service_error(form, exc)

    def succeeded(self, form, revision):
        if revision is None:
            messages.info(self.request, "Nothing changed; the card was not saved.")
        else:
            messages.success(
                self.request,
                f"Saved the model card of {self.object} (revision {revision.number}).",
            )
        return redirect(self.card_url("registry:card-detail"))

    def get_context_data(self, **kwargs):
        if self.request.method == "POST":
            sections, completeness = _posted_completeness(self.request, self.metrics)
        else:
            sections = dict(self.card.sections)
            completeness = card_completeness(self.card, self.metrics)
        return super().get_context_data(
            card=self.card,
            previews=_previews(sections),
            completeness=completeness,
            required=set(self.required),
            previewing=self.request.method == "POST" and "preview" in self.request.POST,
            **kwargs,
        )


@require_POST
def card_preview(request, name, number):
    """The live preview: one section rendered, and the completeness of what is typed."""
    version, card, metrics = _version(request, name, number, "change")
    key = request.POST.get("_preview", "")
    sections, completeness = _posted_completeness(request, metrics)
    section = next((s for s in SECTIONS if s.key == key), None)
    context = {
        "html": render_markdown(sections.get(key, "")) if section else "",
        "completeness": completeness,
        "version": version,
        "model": version.registered_model,
        "oob": True,
    }
    return render(request, "registry/card_preview.html", context)


@require_GET
def card_revisions(request, name, number):
    version, card, metrics = _version(request, name, number)
    revisions = list(card.revisions.all()) if card.pk else []
    by_number = {r.number: r for r in revisions}

    def pick(param, default):
        try:
            return by_number.get(int(request.GET.get(param, "")), default)
        except ValueError:
            return default

    newest = revisions[0] if revisions else None
    older = revisions[1] if len(revisions) > 1 else newest
    a, b = pick("a", older), pick("b", newest)
    diffs, detail_changes = [], []
    if a and b:
        diffs = sections_diff(a.sections, b.sections)
        for f in METADATA_FIELDS:
            old, new = a.metadata.get(f.key), b.metadata.get(f.key)
            if old != new:
                detail_changes.append((f.label, _text(old), _text(new)))
    context = {
        "model": version.registered_model,
        "version": version,
        "card": card,
        "revisions": revisions,
        "a": a,
        "b": b,
        "diffs": diffs,
        "changed": [d for d in diffs if d.changed],
        "detail_changes": detail_changes,
    }
    return render(request, "registry/card_revisions.html", context)


def _text(value) -> str:
    return ", ".join(value) if isinstance(value, list) else (value or "")


class CardImport(_CardWrite):
    """A Hugging Face README.md as a new revision of the card."""

    form_class = CardImportForm
    template_name = "registry/card_import.html"

    def perform(self, form):
        upload = form.cleaned_data["readme"]
        return card_import(
            actor=self.request.user,
            version=self.object,
            text=upload["text"],
            filename=upload["name"],
        )

    def succeeded(self, form, result):
        revision, parsed = result
        _import_messages(self.request, self.object, self.metrics, revision, parsed)
        return redirect(self.card_url("registry:card-edit"))


def _import_messages(request, version, metrics, revision, parsed) -> None:
    titles = [s.title for s in SECTIONS if s.key in parsed.sections]
    if revision is None:
        messages.info(request, "The README.md matches the card already; nothing changed.")
    else:
        messages.success(
            request,
            f"Imported {len(titles)} sections"
            + (f" ({', '.join(titles)})" if titles else "")
            + f" as revision {revision.number}. Review the card below.",
        )
    if parsed.unrecognised or parsed.ignored_keys:
        messages.warning(
            request,
            "Not imported: " + "; ".join(parsed.unrecognised + parsed.ignored_keys) + ".",
        )
    recorded = {(m.name, m.dataset): m.value for m in metrics}
    differing = [
        f"{m['name']}{' [' + m['dataset'] + ']' if m['dataset'] else ''}"
        for m in parsed.metrics
        if recorded.get((m["name"], m["dataset"])) != m["value"]
    ]
    if differing:
        messages.warning(
            request,
            "The README's model-index reports metrics that differ from this version's record, "
            "which an import never changes: " + ", ".join(differing) + ".",
        )


def _filename(version, suffix: str) -> str:
    return f"{version.registered_model.name}-v{version.version}-{suffix}"


@require_GET
def card_export_readme(request, name, number):
    version, card, metrics = _version(request, name, number)
    response = HttpResponse(
        hf_readme(version, card, metrics), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(version, "README.md")}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _print_html(request, version, card, metrics, *, for_pdf=False) -> str:
    context = _card_context(request, version, card, metrics)
    context.update({"generated_at": timezone.now(), "for_pdf": for_pdf})
    if for_pdf:
        context["anchor"] = document_anchor()
    return render_to_string("registry/card_print.html", context, request=request)


@require_GET
def card_export_html(request, name, number):
    version, card, metrics = _version(request, name, number)
    response = HttpResponse(_print_html(request, version, card, metrics))
    # The print page carries its CSS inline (it is also the PDF's source): allowed by hash.
    response["Content-Security-Policy"] = document_policy("registry/card_print.css")
    return response


@require_GET
def card_export_pdf(request, name, number):
    version, card, metrics = _version(request, name, number)
    pdf = html_to_pdf(_print_html(request, version, card, metrics, for_pdf=True))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(version, "card.pdf")}"'
    return response
