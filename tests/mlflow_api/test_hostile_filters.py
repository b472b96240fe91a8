"""Issue 14, hostile input: the search grammars cannot pin a worker or answer 5xx.

Attacker: any token holder (an auditor's read-only token is enough). A LIKE pattern used to
become a Python regular expression evaluated row by row; 97 % wildcards pinned a core for
minutes. These tests run on SQLite and PostgreSQL alike."""

import base64
import json
import re
import time

import pytest
from django.test import override_settings

from governance.models import PersonalToken
from governance.services.tokens import token_create
from mlflow_api import filters
from mlflow_api.errors import ApiError
from registry.models import ModelTag, ModelVersion, RegisteredModel
from registry.models.records import MODEL_NAME_RE
from registry.services.mlflow_support import model_tag_set
from tests.factories import make_model, make_version

pytestmark = pytest.mark.django_db

MODELS = "/api/2.0/mlflow/registered-models/search"
VERSIONS = "/api/2.0/mlflow/model-versions/search"


@pytest.fixture
def auditor_token(auditor):
    return token_create(actor=auditor, name="ro", scope=PersonalToken.Scope.READ)[1]


@pytest.fixture
def long_names(scientist, team):
    """Names that a backtracking matcher chews on: long runs of the same letter."""
    models = [
        make_model(scientist, name="a" * 120, team=team),
        make_model(scientist, name="a" * 60 + "_b" + "a" * 60, team=team),
    ]
    for m in models:
        make_version(scientist, m)
    return models


def _get(client, url, token, **params):
    return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize("url", [MODELS, VERSIONS])
@pytest.mark.parametrize(
    "pattern",
    ["%" * 97 + "!", "%a" * 97 + "!", "%_" * 97 + "!", "_%" * 200 + "b"],
    ids=["percent", "percent-a", "percent-underscore", "underscore-percent"],
)
def test_wildcard_bomb_answers_quickly(client, auditor_token, long_names, url, pattern):
    # Warm up (first-request imports and URL resolution are not what is measured).
    assert _get(client, url, auditor_token, filter="name = 'x'").status_code == 200
    started = time.monotonic()
    response = _get(client, url, auditor_token, filter=f"name LIKE '{pattern}'")
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.content
    assert elapsed < 1, f"{elapsed:.2f}s"
    started = time.monotonic()
    response = _get(client, url, auditor_token, filter=f"name ILIKE '{pattern}'")
    assert response.status_code == 200
    assert time.monotonic() - started < 1


def test_tag_like_bomb_answers_quickly(client, auditor_token, scientist, model):
    model_tag_set(actor=scientist, registered_model=model, key="k", value="a" * 5000)
    assert _get(client, MODELS, auditor_token, filter="name = 'x'").status_code == 200
    started = time.monotonic()
    response = _get(client, MODELS, auditor_token, filter="tags.k LIKE '" + "%a" * 400 + "!'")
    assert response.status_code == 200
    assert response.json().get("registered_models", []) == []
    assert time.monotonic() - started < 1


def _names(qs_filter, text):
    return sorted(RegisteredModel.objects.filter(qs_filter(text)).values_list("name", flat=True))


@pytest.fixture
def named(scientist, team):
    names = ["Fraud-A", "fraud-b", "fraud.c", "fraudxc", "fraud_d", "f[1]", "f*2", "f?3"]
    return [make_model(scientist, name=n, team=team) for n in names if _valid(n)]


def _valid(name):
    return re.match(MODEL_NAME_RE, name) is not None


def test_like_semantics_are_mlflows(named):
    q = filters.model_filter_q
    # LIKE is case-sensitive, ILIKE not; _ is one character, % any run.
    assert _names(q, "name LIKE 'fraud%'") == ["fraud-b", "fraud.c", "fraud_d", "fraudxc"]
    assert _names(q, "name ILIKE 'fraud%'") == [
        "Fraud-A",
        "fraud-b",
        "fraud.c",
        "fraud_d",
        "fraudxc",
    ]
    assert _names(q, "name LIKE 'FRAUD%'") == []
    assert _names(q, "name ILIKE 'FRAUD-_'") == ["Fraud-A", "fraud-b"]
    assert _names(q, "name LIKE 'fraud.c'") == ["fraud.c"]  # . is not a wildcard
    assert _names(q, "name LIKE 'fraud_c'") == ["fraud.c", "fraudxc"]
    assert _names(q, "name LIKE '%%%%_c'") == ["fraud.c", "fraudxc"]
    assert _names(q, "name LIKE 'fraud'") == []  # anchored at both ends


def test_glob_metacharacters_are_literal(scientist, model):
    """On SQLite LIKE runs as GLOB: * ? [ in the value must not act as GLOB wildcards."""
    for i, value in enumerate(["x*y", "x?y", "x[ab]y", "xay", "x\\y", "x]y"]):
        model_tag_set(actor=scientist, registered_model=model, key=f"k{i}", value=value)

    def matching(pattern, op="LIKE"):
        return sorted(
            ModelTag.objects.filter(filters._string_q("value", op, pattern)).values_list(
                "value", flat=True
            )
        )

    assert matching("x*y") == ["x*y"]
    assert matching("x?y") == ["x?y"]
    assert matching("x[ab]y") == ["x[ab]y"]
    assert matching("x\\y") == ["x\\y"]
    assert matching("x\\y", "ILIKE") == ["x\\y"]
    assert matching("x]y") == ["x]y"]
    assert matching("x_y") == sorted(["x*y", "x?y", "xay", "x\\y", "x]y"])
    assert matching("X%Y", "ILIKE") == sorted(["x*y", "x?y", "x[ab]y", "xay", "x\\y", "x]y"])


def test_version_like_filters(scientist, model):
    make_version(scientist, model)
    assert ModelVersion.objects.filter(
        filters.version_filter_q("name LIKE 'fraud-%' AND source_path ILIKE '%'")
    ).exists()
    assert not ModelVersion.objects.filter(filters.version_filter_q("name LIKE 'FRAUD-%'")).exists()


def _error(response):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    return body["message"]


@pytest.mark.parametrize("url", [MODELS, VERSIONS])
def test_too_long_or_too_many_clauses_is_400(client, auditor_token, url):
    long_filter = "name LIKE '" + "a" * 1001 + "'"
    assert "at most 1000" in _error(_get(client, url, auditor_token, filter=long_filter))
    many = " AND ".join(["name != 'x'"] * 21)
    assert "at most 20" in _error(_get(client, url, auditor_token, filter=many))
    twenty = " AND ".join(["name != 'x'"] * 20)
    assert _get(client, url, auditor_token, filter=twenty).status_code == 200


@override_settings(ATTEST_API_FILTER_MAX_LENGTH=30, ATTEST_API_FILTER_MAX_CLAUSES=2)
def test_limits_are_settings():
    with pytest.raises(ApiError):
        filters.parse("name = '" + "a" * 30 + "'")
    with pytest.raises(ApiError):
        filters.parse("name = 'a' AND name = 'b' AND name = 'c'")
    assert len(filters.parse("name = 'a' AND name = 'b'")) == 2
    with pytest.raises(ApiError):
        filters.order_by(["name", "name", "name"], filters.MODEL_ORDER, [])


def test_order_by_and_page_token_limits(client, auditor_token):
    response = client.get(
        MODELS, {"order_by": ["name"] * 21}, HTTP_AUTHORIZATION=f"Bearer {auditor_token}"
    )
    # The typed input (mlflow_api/specs/) refuses it before the filter parser would.
    assert "more than 20" in _error(response)
    _error(_get(client, MODELS, auditor_token, order_by="name" + " " * 2000 + "DESC"))
    _error(_get(client, MODELS, auditor_token, page_token="A" * 5000))
    huge = base64.urlsafe_b64encode(json.dumps({"offset": 10**30}).encode()).decode()
    _error(_get(client, MODELS, auditor_token, page_token=huge))
    _error(_get(client, VERSIONS, auditor_token, page_token=huge))
    _error(_get(client, VERSIONS, auditor_token, filter="version_number > " + "9" * 40))
    _error(_get(client, VERSIONS, auditor_token, filter="version_number IN (" + "9" * 40 + ")"))


@pytest.mark.parametrize("url", [MODELS, VERSIONS])
@pytest.mark.parametrize(
    "text",
    [
        "name LIKE '" + "\\" * 999,
        "name = '" + "'" * 999,
        "(" * 999,
        "tags.`" + "`" * 990 + " = 'x'",
        "name IN (" + "'a'," * 240 + ")",
        "\x00\xff\ud7ff",
    ],
)
def test_garbage_filters_are_400_quickly(client, auditor_token, url, text):
    assert _get(client, url, auditor_token, filter="name = 'x'").status_code == 200
    started = time.monotonic()
    response = _get(client, url, auditor_token, filter=text)
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert time.monotonic() - started < 1


@pytest.fixture
def write_token(scientist):
    return token_create(actor=scientist, name="rw", scope=PersonalToken.Scope.WRITE)[1]


def _post(client, url, token, body):
    return client.post(
        url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


@pytest.mark.parametrize("url", [MODELS, VERSIONS])
@pytest.mark.parametrize(
    "body",
    [
        {"filter": 5},
        {"filter": ["name = 'a'"]},
        {"filter": {"name": "a"}},
        {"filter": "name = 'a\x00b'"},
        {"filter": "name LIKE '\x00%'"},
        {"filter": "tags.k = '\ud800'"},
        {"order_by": [{"name": "asc"}]},
        {"order_by": [5]},
        {"order_by": "name\x00"},
        {"page_token": 12},
        {"page_token": ["x"]},
        {"max_results": [1]},
        {"max_results": "1e309"},
    ],
)
def test_wrong_types_and_unstorable_text_are_400_not_5xx(client, write_token, url, body):
    """A JSON body can carry any type and any code point; none of it may reach the database
    as a 5xx (PostgreSQL refuses NUL bytes in text, no driver encodes lone surrogates)."""
    raw = json.dumps(body)  # keeps \ud800 as an escape, as a hostile client would send it
    response = client.post(
        url, raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {write_token}"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("url", [MODELS, "/api/2.0/mlflow/logged-models/search"])
def test_deeply_nested_json_body_is_a_400(client, write_token, url):
    response = client.post(
        url,
        "[" * 100_000 + "]" * 100_000,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {write_token}",
    )
    assert response.status_code == 400
    # Refused by the typed input's depth limit before json.loads (mlflow_api/specs/).
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_logged_model_search_refuses_bad_max_results_and_long_filters(client, write_token):
    url = "/api/2.0/mlflow/logged-models/search"
    for body in ({"max_results": "lots"}, {"max_results": 10**6}, {"filter": "x" * 5000}):
        response = _post(client, url, write_token, body)
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert _post(client, url, write_token, {"filter": "name = 'm'"}).status_code == 200
