"""Reads of the registers: every one starts from the system's `restrict()`."""

from django.shortcuts import get_object_or_404

from aisystems.models import AISystem, MetricObservation
from aisystems.registers.specs import REGISTERS, Register
from governance.models import AuditEvent


def entries(user, spec: Register, system: AISystem):
    rows = spec.model.objects.restrict(user, "view").filter(system=system)
    return rows.select_related("owner").order_by("-updated_at", "-pk")


def entry_get(user, spec: Register, system: AISystem, pk: int):
    return get_object_or_404(entries(user, spec, system), pk=pk)


def counts(user, system: AISystem) -> list:
    """(register, number of entries) for the system page."""
    return [(spec, entries(user, spec, system).count()) for spec in REGISTERS]


def history(entry) -> list:
    """The entry's audit events, oldest first (visible with the entry)."""
    meta = entry._meta
    return list(
        AuditEvent.objects.filter(
            target_type=f"{meta.app_label}.{meta.model_name}", target_id=str(entry.pk)
        ).order_by("pk")
    )


def observations(user, metric, *, limit: int = 500) -> list:
    rows = (
        MetricObservation.objects.restrict(user, "view")
        .filter(metric=metric)
        .select_related("model_version__registered_model", "review")
        .order_by("-observed_at", "-pk")[:limit]
    )
    return list(reversed(rows))


def chart(metric, rows: list, *, width: int = 640, height: int = 180) -> dict | None:
    """An inline SVG line chart of the observations with the thresholds (no script, no
    asset: it works offline and under the CSP)."""
    if not rows:
        return None
    values = [r.value for r in rows]
    bounds = [b for b in (metric.lower_threshold, metric.upper_threshold) if b is not None]
    low, high = min(values + bounds), max(values + bounds)
    span = (high - low) or 1.0
    pad = 12

    def y(v):
        return round(height - pad - (v - low) / span * (height - 2 * pad), 1)

    step = (width - 2 * pad) / max(len(rows) - 1, 1)
    points = [(round(pad + i * step, 1), y(r.value), r) for i, r in enumerate(rows)]
    return {
        "width": width,
        "height": height,
        "polyline": " ".join(f"{x},{yy}" for x, yy, _ in points),
        "points": points,
        "lines": [(y(b), b) for b in bounds],
    }
