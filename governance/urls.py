from governance.views.audit_urls import urlpatterns as audit_urls
from governance.views.lifecycle_urls import urlpatterns as lifecycle_urls
from governance.views.report_urls import urlpatterns as report_urls

app_name = "governance"

urlpatterns = [*lifecycle_urls, *audit_urls, *report_urls]
