"""The instance's public signing keys, for anyone who verifies Attest's signatures."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from governance import signing


@login_not_required
@require_GET
def signing_keys(request):
    response = JsonResponse(signing.published_keys(signing.public_keys()))
    response["Cache-Control"] = "public, max-age=300"
    return response
