"""Issue 14, hostile input: no API parameter can turn into a 5xx at the database.

PostgreSQL refuses NUL characters in text, and no driver encodes a lone surrogate (which a
JSON body can carry as \\ud800): both used to surface as 500s from any route that looked a
name up. Every API route's query string, JSON body (keys and values, at any depth) and path
are checked once, in mlflow_api/auth.py, before a handler runs. Run on PostgreSQL too."""

import pytest

from governance.services.tokens import token_create

pytestmark = pytest.mark.django_db
P = "/api/2.0/mlflow/"
A = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.mark.parametrize(
    "method, url, data",
    [
        ("get", P + "registered-models/get", {"name": "a\x00b"}),
        ("get", P + "model-versions/get", {"name": "a\x00b", "version": "1"}),
        ("get", P + "model-versions/get", {"name": "fraud-detector", "version": "1\x00"}),
        ("get", P + "registered-models/alias", {"name": "fraud-detector", "alias": "a\x00"}),
        ("get", P + "runs/get", {"run_id": "a\x00"}),
        ("get", P + "experiments/get-by-name", {"experiment_name": "a\x00"}),
        ("get", P + "metrics/get-history", {"run_id": "a\x00", "metric_key": "x"}),
        ("get", A + "/a%00b", {}),
        ("get", A, {"path": "a\x00b"}),
        ("post", P + "registered-models/create", '{"name": "a\\u0000b"}'),
        ("post", P + "registered-models/create", '{"name": "a\\ud800b"}'),
        ("post", P + "experiments/create", '{"name": "a\\u0000b"}'),
        (
            "post",
            P + "registered-models/set-tag",
            '{"name": "fraud-detector", "key": "k", "value": "\\u0000"}',
        ),
        (
            "post",
            P + "runs/log-batch",
            '{"run_id": "r", "params": [{"key": "\\udfff", "value": "v"}]}',
        ),
        ("post", P + "registered-models/search", '{"filter": "name = \'x\'", "\\u0000": 1}'),
    ],
)
def test_nul_and_lone_surrogates_are_400(client, scientist, model, method, url, data):
    raw = token_create(actor=scientist, name="w", scope="write")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    if method == "get":
        response = client.get(url, data, **auth)
    else:
        response = client.post(url, data, content_type="application/json", **auth)
    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "NUL character or invalid Unicode" in response.json()["message"]


@pytest.mark.parametrize(
    "url, data",
    [
        (P + "model-versions/get", {"name": "fraud-detector", "version": "9" * 30}),
        (P + "experiments/get", {"experiment_id": "9" * 30}),
        (P + "registered-models/get", {"name": "ok-name\u00e9\U0001f600"}),
    ],
)
def test_odd_but_storable_values_are_not_5xx(client, scientist, model, url, data):
    raw = token_create(actor=scientist, name="w", scope="write")[1]
    response = client.get(url, data, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code < 500, response.content
