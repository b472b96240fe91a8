"""Register pages: a list, a detail (with its history), create and edit forms per register,
and the actions of incidents (approve) and monitored metrics (record an observation)."""

from datetime import date, datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from aisystems import documents
from aisystems import selectors as system_selectors
from aisystems.forms import add_service_errors
from aisystems.models import Incident, MonitoringMetric
from aisystems.registers import selectors, services
from aisystems.registers.forms import ObservationForm, entry_form_class
from aisystems.registers.specs import register_for
from core.web import paginate


def register_list(request, pk, kind):
    spec = register_for(kind)
    system = system_selectors.system_get(request.user, pk)
    page = paginate(request, selectors.entries(request.user, spec, system))
    rows = [(e, [getattr(e, attr) for _, attr in spec.columns]) for e in page]
    context = {
        "spec": spec,
        "system": system,
        "page": page,
        "rows": rows,
        "can_change": system_selectors.may(request.user, system, "change"),
    }
    return render(request, "aisystems/registers/list.html", context)


@require_http_methods(["GET", "POST"])
def register_create(request, pk, kind):
    spec = register_for(kind)
    system = system_selectors.system_get(request.user, pk, "change")
    form = entry_form_class(spec)(
        request.POST if request.method == "POST" else None, user=request.user, system=system
    )
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.entry_create(
                actor=request.user,
                spec=spec,
                system=system,
                data=form.service_data(),
                versions=form.versions(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Recorded {spec.singular} “{entry.title}”.")
            return redirect(entry)
    return _form_page(request, spec, system, form, None)


@require_http_methods(["GET", "POST"])
def register_edit(request, pk, kind, entry_id):
    spec = register_for(kind)
    system = system_selectors.system_get(request.user, pk, "change")
    entry = selectors.entry_get(request.user, spec, system, entry_id)
    form = entry_form_class(spec)(
        request.POST if request.method == "POST" else None,
        instance=entry,
        user=request.user,
        system=system,
    )
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.entry_update(
                actor=request.user,
                spec=spec,
                entry=entry,
                data=form.service_data(),
                versions=form.versions(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {spec.singular} “{entry.title}”.")
            return redirect(entry)
    return _form_page(request, spec, system, form, entry)


def _form_page(request, spec, system, form, entry):
    context = {"spec": spec, "system": system, "form": form, "entry": entry}
    return render(
        request,
        "aisystems/registers/form.html",
        context,
        status=400 if form.errors else 200,
    )


def _facts(spec, entry) -> list:
    facts = []
    for name in spec.fields:
        field = entry._meta.get_field(name)
        label = field.verbose_name[:1].upper() + field.verbose_name[1:]
        if name in spec.version_fields:
            value = ", ".join(
                f"{v.registered_model.name} v{v.version}"
                for v in getattr(entry, name).select_related("registered_model")
            )
        elif field.choices:
            value = getattr(entry, f"get_{name}_display")()
        else:
            value = getattr(entry, name)
        if isinstance(value, datetime):
            value = (
                f"{timezone.localtime(value):%Y-%m-%d %H:%M} {timezone.get_current_timezone_name()}"
            )
        elif isinstance(value, date):
            value = value.isoformat()
        elif hasattr(value, "get_username"):
            value = value.get_username()
        facts.append((label, value))
    return facts


def register_detail(request, pk, kind, entry_id, *, observation_form=None, status=200):
    spec = register_for(kind)
    system = system_selectors.system_get(request.user, pk)
    entry = selectors.entry_get(request.user, spec, system, entry_id)
    can_change = system_selectors.may(request.user, system, "change")
    context = {
        "spec": spec,
        "system": system,
        "entry": entry,
        "facts": _facts(spec, entry),
        "history": selectors.history(entry),
        "can_change": can_change,
    }
    if isinstance(entry, Incident):
        context["approval_refusal"] = services.incident_approval_refusal(request.user, entry)
    if isinstance(entry, MonitoringMetric):
        rows = selectors.observations(request.user, entry)
        context["observations"] = rows
        context["chart"] = selectors.chart(entry, rows)
        if can_change:
            context["observation_form"] = observation_form or ObservationForm(
                user=request.user, system=system
            )
    return render(request, "aisystems/registers/detail.html", context, status=status)


@require_POST
def incident_approve(request, pk, entry_id):
    spec = register_for("incidents")
    system = system_selectors.system_get(request.user, pk)
    incident = selectors.entry_get(request.user, spec, system, entry_id)
    services.incident_approve(actor=request.user, incident=incident)
    messages.success(request, "Report approved: it can be sent.")
    return redirect(incident)


@require_POST
def observation_create(request, pk, entry_id):
    spec = register_for("monitoring")
    system = system_selectors.system_get(request.user, pk, "change")
    metric = selectors.entry_get(request.user, spec, system, entry_id)
    form = ObservationForm(request.POST, user=request.user, system=system)
    if form.is_valid():
        try:
            row = services.observation_record(
                actor=request.user,
                metric=metric,
                value=form.cleaned_data["value"],
                observed_at=form.cleaned_data["observed_at"],
                model_version=form.cleaned_data["model_version"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if row.breach:
                messages.warning(
                    request,
                    f"{row.value} is outside the thresholds: review “{row.review.title}” opened "
                    "in the risk register.",
                )
            else:
                messages.success(request, f"Recorded {row.value}.")
            return redirect(metric)
    return register_detail(request, pk, "monitoring", entry_id, observation_form=form, status=400)


def conformity_declaration(request, pk, entry_id):
    """The EU declaration of conformity in Annex V's order, generated from the registry,
    to be signed (the signature is recorded on the conformity entry)."""
    spec = register_for("conformity")
    system = system_selectors.system_get(request.user, pk)
    entry = selectors.entry_get(request.user, spec, system, entry_id)
    items = documents.declaration(request.user, system, entry)
    done, total = documents.counts(items)
    context = {
        "system": system,
        "items": items,
        "title": "EU declaration of conformity",
        "basis": "Art. 47, Annex V",
        "done": done,
        "total": total,
        "back": entry,
    }
    return render(request, "aisystems/document.html", context)
