"""Model card pages: the card, its editor with a live preview, its history and diffs, the
README.md import, and the exports (README.md, a print page, PDF)."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from governance import access
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


@require_http_methods(["GET", "POST"])
def card_edit(request, name, number):
    version, card, metrics = _version(request, name, number, "change")
    card_edit_check(actor=request.user, version=version)  # CardLocked: a 403
    required = required_section_keys()
    form = ModelCardForm(
        request.POST if request.method == "POST" else None,
        initial=ModelCardForm.initial_for(card),
        required_keys=required,
    )
    _live_preview_attrs(form, version)
    status = 200
    sections, completeness = dict(card.sections), card_completeness(card, metrics)
    if request.method == "POST":
        sections, completeness = _posted_completeness(request, metrics)
        if form.is_valid() and "preview" not in request.POST:
            try:
                revision = card_save(
                    actor=request.user,
                    version=version,
                    sections=form.sections(),
                    metadata=form.metadata(),
                    expected_revision=form.cleaned_data["base_revision"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                status = 409 if getattr(exc, "code", "") == "conflict" else 400
                _add_errors(form, exc)
            else:
                if revision is None:
                    messages.info(request, "Nothing changed; the card was not saved.")
                else:
                    messages.success(
                        request,
                        f"Saved the model card of {version} (revision {revision.number}).",
                    )
                return redirect(
                    "registry:card-detail", version.registered_model.name, version.version
                )
        elif form.errors:
            status = 400
    context = {
        "model": version.registered_model,
        "version": version,
        "card": card,
        "form": form,
        "previews": _previews(sections),
        "completeness": completeness,
        "required": set(required),
        "previewing": request.method == "POST" and "preview" in request.POST,
    }
    return render(request, "registry/card_edit.html", context, status=status)


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


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


@require_http_methods(["GET", "POST"])
def card_import_view(request, name, number):
    version, card, metrics = _version(request, name, number, "change")
    card_edit_check(actor=request.user, version=version)  # CardLocked: a 403
    form = (
        CardImportForm(request.POST, request.FILES)
        if request.method == "POST"
        else CardImportForm()
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["readme"]
            try:
                revision, parsed = card_import(
                    actor=request.user,
                    version=version,
                    text=upload["text"],
                    filename=upload["name"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                _import_messages(request, version, metrics, revision, parsed)
                return redirect(
                    "registry:card-edit", version.registered_model.name, version.version
                )
    context = {"model": version.registered_model, "version": version, "form": form}
    return render(request, "registry/card_import.html", context, status=status)


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
