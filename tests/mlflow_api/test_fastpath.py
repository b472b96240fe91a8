"""API calls with a token take the short middleware path (mlflow_api/fastpath.py) and keep
every property the full chain gave them; JSON is written by orjson with MLflow's wire
format kept (mlflow_api/responses.py)."""

import json
import math

import pytest
from django.test import Client
from django.urls import include, path

from governance.models import AuditEvent
from governance.services.tokens import token_create
from mlflow_api import fastpath
from mlflow_api.responses import dumps
from registry.models import Experiment, Run, RunMetric

pytestmark = pytest.mark.django_db

P = "/api/2.0/mlflow/"


@pytest.fixture
def token(scientist):
    return token_create(actor=scientist, name="pipeline", scope="write")[1]


def test_a_token_call_skips_the_browser_middleware_and_keeps_its_headers(token, model):
    client = Client()
    response = client.get(
        P + "registered-models/get",
        {"name": model.name},
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_REQUEST_ID="fast-path-req-0001",
    )
    assert response.status_code == 200
    assert response.json()["registered_model"]["name"] == model.name
    assert response["X-Request-ID"] == "fast-path-req-0001"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == fastpath.API_CSP
    assert response["Content-Type"] == "application/json"
    assert int(response["Content-Length"]) == len(response.content)
    assert not response.cookies  # no session, no CSRF cookie
    # The short path really was taken: no session was attached to the request.
    assert not hasattr(response.wsgi_request, "session")


def test_a_write_on_the_short_path_is_audited_with_the_token_and_request_id(token, model):
    client = Client()
    response = client.post(
        P + "registered-models/set-tag",
        json.dumps({"name": model.name, "key": "k", "value": "v"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_REQUEST_ID="fast-path-req-0002",
    )
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="model.tag_set")
    assert event.request_id == "fast-path-req-0002"
    assert event.source == "api"
    assert event.context["api_token"].startswith("pipeline (")


def test_a_bad_token_is_refused_on_the_short_path(model):
    response = Client().get(
        P + "registered-models/get",
        {"name": model.name},
        HTTP_AUTHORIZATION="Bearer attest_000000000000_wrong",
    )
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"
    assert not hasattr(response.wsgi_request, "session")


def test_a_session_caller_still_takes_the_full_chain(scientist, model):
    client = Client()
    client.force_login(scientist)
    response = client.get(P + "registered-models/get", {"name": model.name})
    assert response.status_code == 200
    assert hasattr(response.wsgi_request, "session")


def plain_view(request):  # under /api/ but not an API view: never short-cut
    from django.http import HttpResponse

    return HttpResponse("ok")


urlpatterns = [path("api/2.0/plain", plain_view), path("", include("config.urls"))]


def test_a_view_that_is_not_an_api_view_keeps_the_full_chain(token, settings):
    settings.ROOT_URLCONF = __name__
    response = Client().get("/api/2.0/plain", HTTP_AUTHORIZATION=f"Bearer {token}")
    # LoginRequiredMiddleware (full chain) sends the anonymous caller to sign in.
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_non_finite_numbers_keep_the_wire_format_the_client_parses(token, scientist):
    experiment = Experiment.objects.create(name="nan-exp", created_by=scientist)
    run = Run.objects.create(
        run_id="r" * 32, experiment=experiment, user=scientist, name="nan-run", start_time=1
    )
    RunMetric.objects.create(run=run, key="low", value=-math.inf, timestamp=1, step=0)
    RunMetric.objects.create(run=run, key="peak", value=math.inf, timestamp=1, step=0)
    response = Client().get(
        P + "runs/get", {"run_id": run.run_id}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200, response.content
    # (SQLite stores a NaN as NULL, so the row holds infinities; dumps() is tested on NaN.)
    assert b"-Infinity" in response.content
    metrics = {m["key"]: m["value"] for m in json.loads(response.content)["run"]["data"]["metrics"]}
    assert metrics == {"low": -math.inf, "peak": math.inf}


def test_dumps_matches_the_standard_library_on_what_the_api_writes():
    payload = {
        "name": "modèle-\u00e9t\u00e9 ✓",
        "version": "3",
        "n": 2**40,
        "big": 2**70,  # beyond orjson's 64 bits: the standard library writes it
        "x": 0.1,
        "tags": [{"key": "a", "value": ""}],
        "none": None,
    }
    assert json.loads(dumps(payload)) == payload
    written = dumps({"v": [1.5, {"m": math.nan}]})
    assert b"NaN" in written  # not orjson's null
    value = json.loads(written)["v"]
    assert value[0] == 1.5 and math.isnan(value[1]["m"])
