"""Which reports a user may see.

- Someone who reads the whole registry's audit trail (auditors and registry admins with
  registry-wide view, superusers) sees every report.
- Everyone else sees the reports they asked for, and a report about one model only while
  they can still see that model (a grant taken away takes its reports with it).

Reports only ever contain what their requester could see when they were generated.
"""

from django.db.models import Q
from django.shortcuts import get_object_or_404

from governance import audit_log
from governance.models import Report
from registry.models import RegisteredModel


def sees_all_reports(user) -> bool:
    return audit_log.can_read_audit_log(user) and audit_log.sees_every_model(user)


def reports_visible(user):
    if not user.is_authenticated or not user.is_active:
        return Report.objects.none()
    if sees_all_reports(user):
        return Report.objects.all()
    models = RegisteredModel.objects.restrict(user, "view").values("pk")
    return Report.objects.filter(requested_by=user).filter(
        Q(registered_model_id__isnull=True) | Q(registered_model_id__in=models)
    )


def report_get(user, pk: int) -> Report:
    """The report, or 404 when it is not the user's to see."""
    return get_object_or_404(reports_visible(user).select_related("job"), pk=pk)
