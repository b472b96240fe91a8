"""URLs of the Reports pages."""

from django.urls import path

from governance.views import reports

urlpatterns = [
    path("reports/", reports.report_list, name="report-list"),
    # The same view: GET prefills the form from the query string, POST queues a report.
    path("reports/new/", reports.report_list, name="report-create"),
    path("reports/<int:pk>/", reports.report_detail, name="report-detail"),
    path("reports/<int:pk>/download/", reports.report_download, name="report-download"),
]
