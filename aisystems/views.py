"""AI system pages: list, register, detail, edit, risk class and the classification
questionnaire. Thin: selectors read, services write and decide."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from aisystems import documents, questionnaire, selectors, services, techdoc
from aisystems.forms import ClassificationForm, RiskClassForm, SystemForm, add_service_errors
from aisystems.models import AnnexIII
from aisystems.registers import selectors as register_selectors
from core.web import paginate, query_without_page, render_htmx
from registry.models import RiskClass


def system_list(request):
    filters = {k: request.GET.get(k, "").strip() for k in ("q", "risk_class")}
    page = paginate(request, selectors.system_list(request.user, **filters))
    context = {
        "page": page,
        "filters": filters,
        "risk_classes": RiskClass.choices,
        "querystring": query_without_page(request),
        "can_create": services.can_create_systems(request.user),
    }
    return render_htmx(
        request, "aisystems/system_list.html", "aisystems/_system_table.html", context
    )


def _system_form(request, instance=None):
    return SystemForm(
        request.POST if request.method == "POST" else None,
        instance=instance,
        model_choices=_with_current(
            selectors.model_choices(request.user), instance, "registered_models"
        ),
        version_choices=_with_current(
            selectors.version_choices(request.user), instance, "versions"
        ),
    )


def _with_current(choices, instance, field):
    """What the user may pick, plus what the system holds already (so an edit by someone
    who cannot change one member does not drop it from the form)."""
    if instance is None:
        return choices
    current = getattr(instance, field).values("pk")
    model = choices.model
    return (
        (model.objects.filter(pk__in=choices.values("pk")) | model.objects.filter(pk__in=current))
        .distinct()
        .order_by(*choices.query.order_by)
    )


@require_http_methods(["GET", "POST"])
def system_create(request):
    if not services.can_create_systems(request.user):
        raise PermissionDenied("Only data scientists can register AI systems.")
    form = _system_form(request)
    if request.method == "POST" and form.is_valid():
        try:
            system = services.system_create(
                actor=request.user,
                data=form.service_data(),
                registered_models=form.cleaned_data["registered_models"],
                versions=form.cleaned_data["versions"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Registered the AI system {system.name}.")
            return redirect(system)
    return render(
        request,
        "aisystems/system_form.html",
        {"form": form, "system": None},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def system_edit(request, pk):
    system = selectors.system_get(request.user, pk, "change")
    form = _system_form(request, system)
    if request.method == "POST" and form.is_valid():
        try:
            system = services.system_update(
                actor=request.user,
                system=system,
                data=form.service_data(),
                registered_models=form.cleaned_data["registered_models"],
                versions=form.cleaned_data["versions"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {system.name}.")
            return redirect(system)
    return render(
        request,
        "aisystems/system_form.html",
        {"form": form, "system": system},
        status=400 if form.errors else 200,
    )


def system_detail(request, pk):
    system = selectors.system_get(request.user, pk)
    members = selectors.member_models(request.user, system)
    history = list(selectors.classifications(request.user, system)[:20])
    latest = history[0] if history else None
    context = {
        "system": system,
        "members": members,
        "hidden_members": selectors.hidden_member_count(request.user, system, len(members)),
        "versions": selectors.system_versions(request.user, system),
        "latest": latest,
        "latest_answers": _answer_rows(latest) if latest else [],
        "history": history,
        "can_change": selectors.may(request.user, system, "change"),
        "out_of_line": [m for m in members if m.risk_class != system.risk_class],
        "registers": register_selectors.counts(request.user, system),
    }
    return render(request, "aisystems/system_detail.html", context)


def _answer_rows(classification) -> list:
    rows = []
    for q in questionnaire.QUESTIONS:
        value = classification.answers.get(q.key)
        if isinstance(value, bool):
            shown = "Yes" if value else "No"
        else:
            shown = dict(AnnexIII.choices).get(value, value)
        rows.append((q, shown))
    return rows


@require_http_methods(["GET", "POST"])
def system_risk_class(request, pk):
    system = selectors.system_get(request.user, pk, "change")
    latest = selectors.classifications(request.user, system).first()
    initial = {"risk_class": latest.result_class if latest else system.risk_class}
    form = RiskClassForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.system_risk_class_set(
                actor=request.user, system=system, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            system = outcome["system"]
            if outcome["requested"]:
                numbers = ", ".join(f"#{r.pk}" for r in outcome["requested"])
                messages.success(
                    request,
                    f"This change needs a Compliance decision on {len(outcome['requested'])} "
                    f"model(s) (request {numbers}); {system.name} stays "
                    f"{system.get_risk_class_display()} until every one is approved.",
                )
            else:
                messages.success(
                    request, f"{system.name} is now {system.get_risk_class_display()}."
                )
            return redirect(system)
    context = {
        "system": system,
        "form": form,
        "latest": latest,
        "members": selectors.member_models(request.user, system),
    }
    return render(request, "aisystems/risk_class.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def system_classify(request, pk):
    system = selectors.system_get(request.user, pk, "change")
    form = ClassificationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            row = services.classification_record(
                actor=request.user,
                system=system,
                answers=form.answers(),
                notes=form.cleaned_data["notes"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Classification #{row.pk} recorded: {row.get_result_class_display()}"
                f"{' and PROHIBITED (Art. 5)' if row.prohibited else ''}.",
            )
            return redirect(system)
    return render(
        request,
        "aisystems/classify.html",
        {"system": system, "form": form},
        status=400 if form.errors else 200,
    )


def system_techdoc(request, pk):
    """The system's technical documentation along Annex IV: every point filled, missing
    with what fills it, or not applicable with the reason."""
    system = selectors.system_get(request.user, pk)
    items = techdoc.build(request.user, system)
    done, total = techdoc.completeness(items)
    context = {
        "system": system,
        "items": items,
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else 0,
        "can_change": selectors.may(request.user, system, "change"),
    }
    return render(request, "aisystems/techdoc.html", context)


def system_instructions(request, pk):
    """The instructions for use (Art. 13(3)), generated from the system and its cards."""
    system = selectors.system_get(request.user, pk)
    items = documents.instructions_for_use(request.user, system)
    return _document(request, system, items, "Instructions for use", "Art. 13(3)")


def _document(request, system, items, title, basis, *, back=None):
    done, total = documents.counts(items)
    context = {
        "system": system,
        "items": items,
        "title": title,
        "basis": basis,
        "done": done,
        "total": total,
        "back": back,
    }
    return render(request, "aisystems/document.html", context)
