"""Readiness pages: the library, a system's readiness per framework (controls, status,
evidence, gaps with owners, the trend), manual evidence and not-applicable decisions, the
exports, and a model's risk management page. Thin: the system is read through aisystems'
selectors (restrict()), writes go through controls/services.py."""

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_POST

from aisystems import selectors as system_selectors
from aisystems.models import AISystem
from controls import exports, services
from controls.evaluation import all_readiness, readiness
from controls.forms import EvidenceForm, FindingForm, ValidationForm
from controls.models import Control, Finding, Framework, ManualEvidence, Snapshot, Validation
from controls.rules import STATUS_LABELS, next_validation_due
from core.web import stored_file_response
from governance import access, audit
from registry.models import RegisteredModel


def framework_list(request):
    frameworks = Framework.objects.all()
    systems = AISystem.objects.restrict(request.user, "view").order_by("name")
    return render(
        request,
        "controls/framework_list.html",
        {"frameworks": frameworks, "systems": systems},
    )


def framework_detail(request, key):
    framework = get_object_or_404(Framework, key=key)
    controls = framework.controls.prefetch_related("related__framework")
    return render(
        request, "controls/framework_detail.html", {"framework": framework, "controls": controls}
    )


def system_readiness(request, pk):
    system = system_selectors.system_get(request.user, pk)
    results = all_readiness(system)
    trend = {}
    for snap in Snapshot.objects.restrict(request.user).filter(system=system):
        trend.setdefault(snap.framework_id, []).append(snap)
    return render(
        request,
        "controls/system_readiness.html",
        {
            "system": system,
            "results": [(r, trend.get(r.framework.pk, [])[-12:]) for r in results],
            "labels": STATUS_LABELS,
        },
    )


def _framework(key):
    return get_object_or_404(Framework, key=key)


def system_framework(request, pk, key):
    system = system_selectors.system_get(request.user, pk)
    framework = _framework(key)
    result = readiness(system, framework)
    can_change = system_selectors.may(request.user, system, "change")
    return render(
        request,
        "controls/system_framework.html",
        {
            "system": system,
            "framework": framework,
            "result": result,
            "can_change": can_change,
            "labels": STATUS_LABELS,
            "snapshots": Snapshot.objects.restrict(request.user).filter(
                system=system, framework=framework
            ),
        },
    )


EXPORTS = {
    "csv": (exports.as_csv, "text/csv"),
    "json": (exports.as_json, "application/json"),
    "pdf": (exports.as_pdf, "application/pdf"),
}


def system_export(request, pk, key, fmt):
    if fmt not in EXPORTS:
        raise Http404("No such export format.")
    system = system_selectors.system_get(request.user, pk)
    framework = _framework(key)
    result = readiness(system, framework)
    make, content_type = EXPORTS[fmt]
    body = make(result)
    with transaction.atomic():
        audit.record(
            actor=request.user,
            action="controls.export",
            target=system,
            after={"framework": framework.key, "format": fmt, "counts": result.counts},
        )
    response = HttpResponse(body, content_type=content_type)
    filename = f"readiness-{system.pk}-{framework.key}.{fmt}"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@require_POST
def snapshot_create(request, pk, key):
    system = system_selectors.system_get(request.user, pk, "change")
    services.snapshot_take(actor=request.user, system=system, framework=_framework(key))
    messages.success(request, "Recorded today's readiness in the trend.")
    return redirect("controls:system-framework", pk, key)


@require_http_methods(["GET", "POST"])
def evidence_create(request, pk):
    system = system_selectors.system_get(request.user, pk, "change")
    initial = {"control": request.GET.get("control")}
    form = EvidenceForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            evidence = services.manual_evidence_add(
                actor=request.user,
                system=system,
                control=data["control"],
                kind=data["kind"],
                data=data,
                upload=data.get("document"),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Recorded the evidence {evidence.title}.")
            return redirect("controls:evidence-detail", system.pk, evidence.pk)
    return render(
        request,
        "controls/evidence_form.html",
        {"system": system, "form": form},
        status=400 if form.errors else 200,
    )


def evidence_detail(request, pk, evidence_id):
    system = system_selectors.system_get(request.user, pk)
    evidence = get_object_or_404(
        ManualEvidence.objects.restrict(request.user).select_related("control__framework"),
        pk=evidence_id,
        system=system,
    )
    if request.GET.get("download") and evidence.storage_name:
        with transaction.atomic():
            audit.record(
                actor=request.user,
                action="controls.evidence_download",
                target=evidence,
                after={"system": system.name, "sha256": evidence.sha256},
            )
        return stored_file_response(
            evidence.storage_name,
            filename=evidence.filename,
            content_type="application/octet-stream",
        )
    return render(
        request,
        "controls/evidence_detail.html",
        {"system": system, "evidence": evidence, "today": date.today()},
    )


@require_POST
def not_applicable(request, pk):
    system = system_selectors.system_get(request.user, pk, "change")
    control = get_object_or_404(Control, pk=request.POST.get("control"))
    withdraw = request.POST.get("withdraw") == "1"
    try:
        services.not_applicable_set(
            actor=request.user,
            system=system,
            control=control,
            reason=request.POST.get("reason", ""),
            withdraw=withdraw,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{control.ref}: {'applies again' if withdraw else 'not applicable'}."
        )
    return redirect("controls:system-framework", system.pk, control.framework.key)


@require_http_methods(["GET", "POST"])
def model_risk(request, name):
    model = get_object_or_404(RegisteredModel.objects.restrict(request.user), name=name)
    can_validate = access.allows(request.user, model, "approve")
    validation_form = ValidationForm(request.POST if "validate" in request.POST else None)
    finding_form = FindingForm(request.POST if "finding" in request.POST else None)
    if request.method == "POST":
        if not can_validate:
            raise PermissionDenied("Only an approver of the model records its validation.")
        try:
            if "validate" in request.POST and validation_form.is_valid():
                services.validation_record(
                    actor=request.user, model=model, **validation_form.cleaned_data
                )
                messages.success(request, "Recorded the validation.")
                return redirect("controls:model-risk", model.name)
            if "finding" in request.POST and finding_form.is_valid():
                services.finding_add(
                    actor=request.user, model=model, data=finding_form.cleaned_data
                )
                messages.success(request, "Recorded the finding.")
                return redirect("controls:model-risk", model.name)
            if "close" in request.POST:
                finding = get_object_or_404(
                    Finding.objects.restrict(request.user),
                    pk=request.POST.get("close"),
                    registered_model=model,
                )
                services.finding_close(
                    actor=request.user, finding=finding, note=request.POST.get("note", "")
                )
                messages.success(request, "Closed the finding.")
                return redirect("controls:model-risk", model.name)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    validations = list(Validation.objects.restrict(request.user).filter(registered_model=model))
    due = next_validation_due(model, validations)
    return render(
        request,
        "controls/model_risk.html",
        {
            "model": model,
            "validations": validations,
            "findings": Finding.objects.restrict(request.user)
            .filter(registered_model=model)
            .select_related("owner"),
            "due": due,
            "overdue": due is not None and due < date.today(),
            "today": date.today(),
            "can_validate": can_validate,
            "validation_form": validation_form,
            "finding_form": finding_form,
        },
        status=400 if (validation_form.errors or finding_form.errors) else 200,
    )
