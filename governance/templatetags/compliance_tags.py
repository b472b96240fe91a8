"""The compliance panel of the version page:
`{% load compliance_tags %}{% compliance_panel version %}`.

The registry's version view knows nothing of governance; the panel asks for its own data
here, for the signed-in user. The page has already checked that the version is visible.
"""

from django import template

from governance import access, selectors
from governance.forms import ComplianceUploadForm
from governance.models import ComplianceDocument
from governance.services.compliance import max_bytes

register = template.Library()

DECLARATION = ComplianceDocument.Kind.DECLARATION_OF_CONFORMITY
EARLIER_SHOWN = 5


@register.inclusion_tag("governance/_compliance_panel.html", takes_context=True)
def compliance_panel(context, version):
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    data = {
        "version": version,
        "model": version.registered_model,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "declaration": None,
        "earlier": [],
        "form": None,
    }
    if user is None or not user.is_authenticated or version is None or version.pk is None:
        return data
    documents = list(
        selectors.compliance_documents(user, version, kind=DECLARATION)[: EARLIER_SHOWN + 1]
    )
    data["declaration"] = documents[0] if documents else None
    data["earlier"] = documents[1:]
    if not access.is_auditor(user) and access.allows(user, version.registered_model, "change"):
        data["form"] = ComplianceUploadForm()
        data["max_bytes"] = max_bytes()
    return data
