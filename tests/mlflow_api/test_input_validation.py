"""Hostile input to the MLflow API (issue 14, hostile client; issue 16, typed API input).

Attacker: an anonymous or hostile client with a valid token, sending any bytes. It must
never get a 5xx (the mlflow client retries those) nor pin a worker: every malformed body is
a 400 in MLflow's error JSON naming the field. Run on SQLite and on PostgreSQL."""

import json

import pytest
from django.conf import settings
from django.test import Client

from governance.models import AuditEvent
from governance.services.tokens import token_create
from mlflow_api import specs
from mlflow_api.filters import page_token
from registry.models import Run

pytestmark = pytest.mark.django_db

P = "/api/2.0/mlflow/"


@pytest.fixture
def send(client, scientist):
    raw = token_create(actor=scientist, name="fuzz", scope="write")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def call(method, path, body=None, **extra):
        if method == "get":
            return client.get(P + path, body or {}, **auth, **extra)
        data = body if isinstance(body, bytes | str) else json.dumps(body or {})
        return getattr(client, method)(
            P + path, data, content_type="application/json", **auth, **extra
        )

    return call


@pytest.fixture
def run_id(send):
    response = send("post", "runs/create", {"experiment_id": "0"})
    assert response.status_code == 200
    return response.json()["run"]["info"]["run_id"]


def invalid(response, field=None) -> str:
    """The response is MLflow's 400 INVALID_PARAMETER_VALUE (naming `field`)."""
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE", body
    assert set(body) == {"error_code", "message"}
    if field is not None:
        assert f"'{field}'" in body["message"], body["message"]
    return body["message"]


# --- The findings: each body was a 5xx -------------------------------------------------------


@pytest.mark.parametrize("tags", ["a string", [1, 2, 3], [{"key": 1}], {"key": "k"}, [None]])
def test_malformed_tags_on_registered_model_create(send, tags):
    message = invalid(send("post", "registered-models/create", {"name": "m1", "tags": tags}))
    assert "tags" in message


@pytest.mark.parametrize("tags", ["a string", [1, 2, 3], [["k", "v"]], [{"value": "v"}]])
def test_malformed_tags_on_model_version_create(send, model, tags):
    body = {"name": model.name, "source": "s3://bucket/x", "tags": tags}
    assert "tags" in invalid(send("post", "model-versions/create", body))


@pytest.mark.parametrize("tags", ["a string", [1, 2, 3], [{"key": "k", "value": {"x": 1}}]])
def test_malformed_tags_on_runs_create(send, tags):
    assert "tags" in invalid(send("post", "runs/create", {"experiment_id": "0", "tags": tags}))
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    "field,value",
    [
        ("metrics", "auc"),
        ("metrics", {"key": "auc", "value": 1}),
        ("metrics", ["auc", "loss"]),  # string entries
        ("metrics", [{"key": "auc", "value": "high", "timestamp": 1}]),
        ("metrics", [{"key": "auc", "value": 1.0, "timestamp": 1e300}]),
        ("metrics", [{"key": "auc", "value": 1.0, "timestamp": 2**70}]),
        ("params", "C=1"),
        ("params", 5),
        ("params", [{"key": "C", "value": 1}]),
        ("params", [{"key": ["C"], "value": "1"}]),
        ("tags", [{"key": "k", "value": False}]),
    ],
)
def test_malformed_log_batch(send, run_id, field, value):
    before = AuditEvent.objects.count()
    message = invalid(send("post", "runs/log-batch", {"run_id": run_id, field: value}))
    assert field in message
    assert AuditEvent.objects.count() == before  # nothing written


def test_deeply_nested_body(send):
    depth = 100_000
    body = "[" * depth + "]" * depth
    assert "nests deeper" in invalid(send("post", "registered-models/create", body))
    body = '{"name": "m", "tags": ' + "[" * depth + "]" * depth + "}"
    invalid(send("post", "registered-models/create", body))
    body = '{"a":' * 5000 + "1" + "}" * 5000
    invalid(send("post", "runs/log-batch", body))


def test_nesting_inside_strings_is_not_counted(send, run_id):
    tricky = '[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \\" {{{{{{{{{{{{{{{{{{{{{{{{{{{{{'
    response = send("post", "runs/set-tag", {"run_id": run_id, "key": "k", "value": tricky})
    assert response.status_code == 200, response.content
    assert Run.objects.get(run_id=run_id).tags["k"] == tricky


def test_non_string_experiment_name(send):
    invalid(send("post", "experiments/create", {"name": 5}), "name")
    invalid(send("post", "experiments/create", {"name": ["a"]}), "name")
    invalid(send("post", "experiments/create", {"name": {"x": "y"}}), "name")


def test_oversized_body_is_mlflow_json_not_html(send):
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024
    body = json.dumps({"name": "m", "description": "x" * size})
    message = invalid(send("post", "registered-models/create", body))
    assert "larger than" in message


# --- Types and caps, field by field ------------------------------------------------------------


def test_missing_required_field_is_named(send, model):
    message = invalid(send("post", "registered-models/set-tag", {"name": model.name}), "key")
    assert message == "Missing value for required parameter 'key'."
    invalid(send("get", "model-versions/get", {"name": model.name}), "version")
    invalid(send("post", "runs/log-metric", {"run_id": "x", "value": 1}), "key")


def test_strings_are_bounded_and_clean(send, model, run_id):
    invalid(send("post", "registered-models/create", {"name": "m" * 10_000}), "name")
    invalid(send("post", "registered-models/create", {"name": "bad\x00name"}), "name")
    surrogate = b'{"name": "bad\\ud800name"}'
    invalid(send("post", "registered-models/create", surrogate), "name")
    invalid(send("get", "registered-models/get", {"name": "a\x00b"}), "name")
    too_long = {"run_id": run_id, "key": "k" * 251, "value": 1.0, "timestamp": 1}
    invalid(send("post", "runs/log-metric", too_long), "key")
    long_model_id = {
        "run_id": run_id,
        "key": "k",
        "value": 1.0,
        "timestamp": 1,
        "model_id": "m" * 41,
    }
    invalid(send("post", "runs/log-metric", long_model_id), "model_id")
    long_value = {"run_id": run_id, "key": "p", "value": "v" * 6001}
    invalid(send("post", "runs/log-parameter", long_value), "value")


def test_numbers_fit_their_columns(send, model, run_id):
    invalid(send("get", "model-versions/get", {"name": model.name, "version": "9" * 12}), "version")
    invalid(send("get", "model-versions/get", {"name": model.name, "version": "-1"}), "version")
    invalid(send("get", "experiments/get", {"experiment_id": "9" * 30}), "experiment_id")
    invalid(send("post", "runs/create", {"experiment_id": "1e5"}), "experiment_id")
    invalid(send("post", "runs/create", {"start_time": 2**64}), "start_time")
    invalid(send("post", "runs/create", {"start_time": True}), "start_time")
    invalid(send("post", "runs/update", {"run_id": run_id, "end_time": "soon"}), "end_time")
    invalid(send("post", "runs/update", {"run_id": run_id, "status": "HACKED"}), "status")
    invalid(send("post", "runs/update", {"run_id": run_id, "status": 0}), "status")
    ok = send("post", "runs/update", {"run_id": run_id, "status": 3, "end_time": "1700000000000"})
    assert ok.status_code == 200 and ok.json()["run_info"]["status"] == "FINISHED"
    body = {"experiment_ids": ["9" * 40]}
    invalid(send("post", "logged-models/search", body), "experiment_ids[0]")


def test_max_results_is_capped_as_mlflow(send):
    invalid(send("get", "registered-models/search", {"max_results": "1001"}), "max_results")
    invalid(send("get", "registered-models/search", {"max_results": "abc"}), "max_results")
    invalid(send("get", "registered-models/search", {"max_results": "0"}), "max_results")
    invalid(send("get", "model-versions/search", {"max_results": str(200_001)}), "max_results")
    invalid(send("post", "logged-models/search", {"max_results": 10**12}), "max_results")
    invalid(send("post", "experiments/search", {"max_results": 50_001}), "max_results")
    assert send("get", "registered-models/search", {"max_results": "1000"}).status_code == 200


def test_page_tokens_cannot_carry_a_huge_offset(send):
    invalid(send("get", "registered-models/search", {"page_token": page_token(10**30)}))
    invalid(send("get", "model-versions/search", {"page_token": page_token(-1)}))
    invalid(send("get", "model-versions/search", {"page_token": "not a token"}))
    ok = send("get", "registered-models/search", {"page_token": page_token(5)})
    assert ok.status_code == 200


def test_log_batch_sizes_are_mlflow_s(send, run_id):
    metric = {"key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    body = {"run_id": run_id, "metrics": [metric] * (specs.MAX_METRICS_PER_BATCH + 1)}
    invalid(send("post", "runs/log-batch", body), "metrics")
    params = [{"key": f"p{i}", "value": "1"} for i in range(101)]
    invalid(send("post", "runs/log-batch", {"run_id": run_id, "params": params}), "params")
    body = {
        "run_id": run_id,
        "metrics": [metric] * 950,
        "params": params[:60],
    }
    assert "at most 1000" in invalid(send("post", "runs/log-batch", body))


def test_path_values_are_checked(send):
    response = send("get", "logged-models/m-%00x")
    invalid(response)
    response = send("get", "logged-models/" + "m" * 2000)
    invalid(response)


def test_unknown_api_paths_answer_mlflow_json_404(send, client):
    for path in ("nope", "registered-models/nope", "runs/search/extra"):
        response = send("get", path)
        assert response.status_code == 404
        assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    response = client.post("/api/2.0/preview/mlflow/x", {})  # anonymous too: nothing to leak
    assert response.status_code == 404 and response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


# --- What the real client sends still works ---------------------------------------------------


def test_client_encodings_are_accepted(send, model, run_id):
    # int64 as JSON numbers or as strings (proto3 JSON), doubles as "NaN"/"Infinity".
    body = {"run_id": run_id, "key": "auc", "value": "NaN", "timestamp": "1700000000000"}
    assert send("post", "runs/log-metric", body).status_code == 200
    body = {
        "run_id": run_id,
        "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1700000000000, "step": "3"}],
        "params": [{"key": "C", "value": "1.0"}],
        "tags": [{"key": "t", "value": "v"}],
        "future_field": {"ignored": True},  # unknown fields are ignored, as MLflow does
    }
    assert send("post", "runs/log-batch", body).status_code == 200
    run = Run.objects.get(run_id=run_id)
    assert run.params == {"C": "1.0"}
    assert run.metrics.get(key="loss").step == 3
    # null means absent (proto3 JSON); bools from a query string
    body = {"name": "typed-model", "description": None, "tags": None}
    assert send("post", "registered-models/create", body).status_code == 200
    response = send("get", "registered-models/search", {"max_results": "5", "order_by": ["name"]})
    assert response.status_code == 200
    assert [m["name"] for m in response.json()["registered_models"]]


# --- Other routes to the same views -------------------------------------------------------------


def test_session_writes_with_form_bodies_are_json_errors(scientist, model):
    """A browser session (with its CSRF token) posting a form or multipart body: the CSRF
    check reads the form first; the JSON parse must still answer, not fail on the stream."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(scientist)
    client.cookies["csrftoken"] = "a" * 32
    csrf = {"HTTP_X_CSRFTOKEN": "a" * 32}
    path = P + "registered-models/set-tag"
    response = client.post(path, {"name": model.name, "key": "k", "file": b"x"}, **csrf)
    assert response.status_code == 400
    assert response.json()["error_code"] == "MALFORMED_REQUEST"
    many = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client.post(path, many, "application/x-www-form-urlencoded", **csrf)
    invalid(response)
    response = client.post(path, "--x\r\n", "multipart/form-data; boundary=", **csrf)
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    body = {"name": model.name, "key": "k", "value": "v"}
    response = client.post(path, json.dumps(body), "application/json", **csrf)
    assert response.status_code == 200


def test_too_many_query_fields_is_json(send):
    many = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    invalid(send("get", "registered-models/search", many))


def test_body_must_be_utf8(send, model):
    body = json.dumps({"name": model.name, "key": "k", "value": "v"}).encode("utf-16")
    response = send("post", "registered-models/set-tag", body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "MALFORMED_REQUEST"


def test_deepest_real_request_fits_the_nesting_limit(send, run_id):
    dataset = {
        "name": "d",
        "digest": "abc",
        "source_type": "local",
        "source": '{"uri": "/tmp/x"}',
        "schema": '{"mlflow_colspec": []}',
    }
    body = {
        "run_id": run_id,
        "datasets": [
            {"tags": [{"key": "mlflow.data.context", "value": "train"}], "dataset": dataset}
        ],
        "models": [{"model_id": "m-1"}],
    }
    assert send("post", "runs/log-inputs", body).status_code == 200
    body["datasets"][0]["dataset"]["digest"] = "x" * 37  # MLflow's cap is 36
    invalid(send("post", "runs/log-inputs", body), "datasets[0].dataset.digest")


def test_nesting_scan():
    assert not specs.too_deep(b'{"a": [1, {"b": [2]}]}')
    assert specs.too_deep(b"[" * 17 + b"]" * 17)
    assert not specs.too_deep(b"[" * 16 + b"]" * 16)
    assert not specs.too_deep(b'{"v": "' + b"[" * 100 + b'"}')  # inside a string
    assert not specs.too_deep(b'{"v": "\\"' + b"{" * 100 + b'"}')  # after an escaped quote
    assert specs.too_deep(b'{"v": "\\\\", "w": ' + b"[" * 20 + b"]" * 20 + b"}")
