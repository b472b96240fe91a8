"""Which reports a user may see.

- Someone who reads the whole registry's audit trail (auditors and registry admins with
  registry-wide view, superusers) sees every report.
- Everyone else sees the reports they asked for, and a report about one model only while
  they can still see that model (a grant taken away takes its reports with it).

Reports only ever contain what their requester could see when they were generated.
"""

from django.shortcuts import get_object_or_404

from governance.models import Report


def sees_all_reports(user) -> bool:
    return user.is_authenticated and Report.sees_all_rows(user)


def reports_visible(user):
    """restrict() on reports (Report.linked_rows, Report.sees_all_rows)."""
    return Report.objects.restrict(user, "view")


def report_get(user, pk: int) -> Report:
    """The report, or 404 when it is not the user's to see."""
    return get_object_or_404(reports_visible(user).select_related("job"), pk=pk)
