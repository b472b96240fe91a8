"""MLflow's error wire format: {"error_code", "message"} with the HTTP status the client
expects. Client errors are never 5xx (the client retries 5xx); only a failing backend is."""

import logging

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.db import DatabaseError
from django.http import Http404, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.views.decorators.csrf import csrf_exempt

from config.db_limits import TIMEOUT_MESSAGE, is_statement_timeout
from mlflow_api.responses import json_response
from registry import storage
from registry.services.models import ModelNameTaken

log = logging.getLogger(__name__)
security_log = logging.getLogger("django.security.api")

STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "MALFORMED_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "BAD_REQUEST": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "TEMPORARILY_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}


class ApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> ApiError:
    return ApiError("INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> ApiError:
    return ApiError("RESOURCE_DOES_NOT_EXIST", message)


def error_response(code: str, message: str) -> HttpResponse:
    response = json_response({"error_code": code, "message": message}, status=STATUS[code])
    if code == "UNAUTHENTICATED":
        response["WWW-Authenticate"] = 'Basic realm="attest", charset="UTF-8"'
    return response


def _messages(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def response_for(exc: Exception) -> HttpResponse:
    """The wire answer for an exception a service or selector raised."""
    if isinstance(exc, ApiError):
        return error_response(exc.code, exc.message)
    if isinstance(exc, PermissionDenied):
        return error_response("PERMISSION_DENIED", str(exc) or "Permission denied.")
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return error_response("RESOURCE_DOES_NOT_EXIST", str(exc) or "Not found.")
    if isinstance(exc, ModelNameTaken):
        return error_response(
            "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={exc.taken}) already exists."
        )
    if isinstance(exc, FileExistsError):
        return error_response("RESOURCE_ALREADY_EXISTS", str(exc))
    if isinstance(exc, ValidationError):
        return error_response("INVALID_PARAMETER_VALUE", _messages(exc))
    if isinstance(exc, storage.ArtifactError):
        return error_response("INVALID_PARAMETER_VALUE", str(exc))
    if isinstance(exc, storage.ArtifactStorageError):
        return error_response("TEMPORARILY_UNAVAILABLE", "Artifact storage is unavailable.")
    if isinstance(exc, DatabaseError) and is_statement_timeout(exc):
        return error_response("TEMPORARILY_UNAVAILABLE", TIMEOUT_MESSAGE)
    if isinstance(exc, RequestDataTooBig):
        return error_response("INVALID_PARAMETER_VALUE", "The request body is too large.")
    if isinstance(exc, SuspiciousOperation):  # too many query fields, a bad file path, ...
        security_log.warning("%s: %s", type(exc).__name__, exc)
        return error_response("INVALID_PARAMETER_VALUE", "The request was refused as malformed.")
    if isinstance(exc, MultiPartParserError | RawPostDataException):
        return error_response("MALFORMED_REQUEST", "The request body is not JSON.")
    raise exc


@csrf_exempt
@login_not_required
def endpoint_not_found(request, *args, **kwargs) -> HttpResponse:
    """Any other path under /api/: MLflow's JSON 404 instead of Django's HTML page."""
    return error_response("ENDPOINT_NOT_FOUND", f"No API endpoint at {request.path}.")
