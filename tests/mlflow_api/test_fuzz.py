"""Property-based fuzzing of every MLflow API endpoint (issue 14: a hostile client never
gets a 5xx; issue 16: typed API input).

The endpoints come from the URL conf (every view wrapped by api_view), so a new endpoint is
fuzzed without touching this file, and must declare its input spec (mlflow_api/specs/).
For each, Hypothesis sends bodies (or query strings on GET) with random JSON of any type at
every declared field, plausible values (an existing model, run, version) so handlers get
past their lookups, unknown extra fields, deep nesting, huge strings and raw non-JSON bytes,
with a valid read-write token. Every answer must be below 500, and every error must be
MLflow's JSON {"error_code", "message"}. Bounded: ~40 examples per endpoint and method."""

import json
import re
from urllib.parse import quote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.services.tokens import token_create
from mlflow_api import specs
from mlflow_api.errors import STATUS
from registry.services.tracking import default_experiment, logged_model_create, run_create
from tests.factories import make_version

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _template(route: str) -> str:
    """'/api/.../logged-models/{model_id}' from a path() route or a re_path() regex."""
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    return "/" + route.replace("^", "").replace("$", "").replace("\\.", ".")


def api_endpoints() -> list[tuple[str, str, object]]:
    found = []
    for route, view in _walk(get_resolver().url_patterns):
        methods = getattr(view, "api_methods", None)
        if methods is None:
            continue
        found += [(_template(route), method, view) for method in sorted(methods)]
    return found


ENDPOINTS = api_endpoints()


def test_every_api_view_is_found_and_declares_its_input():
    paths = {path for path, _method, _view in ENDPOINTS}
    assert "/api/2.0/mlflow/runs/log-batch" in paths
    assert "/api/2.0/mlflow/logged-models/{model_id}" in paths
    assert len(paths) >= 40
    for path, method, view in ENDPOINTS:
        spec = view.api_spec.get(method)
        assert spec is not None and issubclass(spec, specs.Message), f"{method} {path}"


# --- Strategies -----------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["", "0", "1", "-1", "NaN", "Infinity", "true", "\x00", "9" * 30])
)
any_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _plausible(world):
    return st.sampled_from(
        [
            world["model"],
            world["run_id"],
            world["version"],
            world["model_id"],
            "Production",
            "Staging",
            "Archived",
            "champion",
            "name = 'fraud-detector'",
            "name LIKE '%fraud%'",
            "version_number > 0",
            "tags.`k` = 'v'",
            "name ASC",
            "creation_timestamp DESC",
            "models:/" + world["model_id"],
            "runs:/" + world["run_id"] + "/model",
            "s3://bucket/model",
            "FINISHED",
            "LOGGED_MODEL_READY",
        ]
    )


ENTRY_KEYS = ["key", "value", "timestamp", "step", "model_id", "name", "digest", "dataset"]


def field_values(world):
    """A wrong (or right) value for any field: each alternative is a shape a field of
    another type expects, so type confusion is tried at every field."""
    text = _plausible(world) | st.text(max_size=40)
    entries = st.dictionaries(
        st.sampled_from(ENTRY_KEYS) | st.text(max_size=5), any_json, min_size=1
    )
    truthy = st.integers(min_value=1) | st.floats(min_value=1) | text.filter(bool) | any_json
    return st.one_of(
        st.lists(entries, min_size=1, max_size=4),  # objects with wrong-typed fields
        st.lists(truthy, min_size=1, max_size=4),  # entries that are not objects
        text | text.map(lambda s: s * 500),  # plausible, random and long strings
        scalars,
        any_json | st.integers(1, 40).map(lambda n: json.loads("[" * n + "]" * n)),
    )


def _base(field: str, world) -> object:
    """A value that gets the handler past its lookups, so the fuzz reaches the writes."""
    known = {
        "name": world["model"],
        "run_id": world["run_id"],
        "run_uuid": world["run_id"],
        "source_run_id": world["run_id"],
        "version": world["version"],
        "model_id": world["model_id"],
        "experiment_id": "0",
        "experiment_name": "Default",
        "key": "k",
        "metric_key": "auc",
        "value": "v",
        "alias": "champion",
        "stage": "Staging",
        "source": "models:/" + world["model_id"],
        "metrics": [{"key": "auc", "value": 0.5, "timestamp": 1, "step": 0}],
        "params": [{"key": "C", "value": "1"}],
        "tags": [{"key": "k", "value": "v"}],
        "models": [{"model_id": world["model_id"], "step": 0}],
    }
    return known.get(field, "x")


@st.composite
def _body_fields(draw, spec, world, values):
    """Every declared field at its plausible value, except one or two that get a random
    value and maybe one left out: one bad field at a time reaches past the others."""
    fields = sorted(spec.model_fields) or ["name"]
    body = {f: _base(f, world) for f in fields}
    for field in draw(st.sets(st.sampled_from(fields), min_size=1, max_size=2)):
        body[field] = draw(values)
    if draw(st.booleans()):
        body[draw(st.sampled_from(fields))] = draw(values)
    for field in draw(st.sets(st.sampled_from(fields), max_size=1)):
        body.pop(field, None)
    return body


def json_bodies(spec, world):
    extra = st.dictionaries(st.text(max_size=10), any_json, max_size=3)
    declared = _body_fields(spec, world, field_values(world))
    return st.builds(lambda a, b: json.dumps(b | a), declared, extra)


def raw_bodies():
    return st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        st.integers(1, 200_000).map(lambda n: "[" * n + "]" * n),
        st.integers(1, 50_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
        any_json.map(json.dumps),  # JSON, but not an object
    )


def query_strings(spec, world):
    text = _plausible(world) | st.text(max_size=40) | st.sampled_from(["\x00", "9" * 40])
    value = text | st.lists(text, min_size=1, max_size=3)
    extra = st.dictionaries(st.text(min_size=1, max_size=8), text, max_size=2)
    declared = _body_fields(spec, world, value).map(
        lambda d: {k: v if isinstance(v, str | list) else json.dumps(v) for k, v in d.items()}
    )
    return st.builds(lambda a, b: b | a, declared, extra)


path_parts = st.text(min_size=1, max_size=60).filter(
    lambda s: s not in (".", "..")
) | st.sampled_from(["m-0", "0/x/artifacts/model/MLmodel", "versions/1/MLmodel", "a" * 3000])


# --- The property -----------------------------------------------------------------------------


@pytest.fixture
def world(scientist, model):
    exp = default_experiment()
    run = run_create(actor=scientist, experiment=exp, name="fuzz")
    version = make_version(scientist, model)
    logged = logged_model_create(
        actor=scientist, experiment=exp, name="model", source_run=run, params={}, tags={}
    )
    return {
        "model": model.name,
        "run_id": run.run_id,
        "version": str(version.version),
        "model_id": logged.model_id,
        "token": token_create(actor=scientist, name="fuzz", scope="write")[1],
    }


def assert_mlflow_answer(response, method, path):
    where = f"{method} {path}"
    assert response.status_code < 500, (where, response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/json", (where, response.content[:300])
        body = response.json()
        assert set(body) == {"error_code", "message"}, (where, body)
        assert STATUS[body["error_code"]] == response.status_code, (where, body)


@pytest.mark.parametrize(
    "template,method",
    [(path, method) for path, method, _view in ENDPOINTS],
    ids=[f"{method} {path}" for path, method, _view in ENDPOINTS],
)
def test_no_input_gets_a_5xx(client, world, template, method):
    view = next(v for p, m, v in ENDPOINTS if (p, m) == (template, method))
    spec = view.api_spec[method]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world['token']}"}
    payload = query_strings(spec, world) if method == "GET" else json_bodies(spec, world)
    names = re.findall(r"{(\w+)}", template)

    @settings(FUZZ, max_examples=10 + 6 * len(spec.model_fields))
    @given(payload=payload, parts=st.lists(path_parts, min_size=len(names), max_size=len(names)))
    def check(payload, parts):
        path = template
        for name, part in zip(names, parts, strict=True):
            path = path.replace("{" + name + "}", quote(part, safe="/"))
        if method == "GET":
            response = client.get(path, payload, **auth)
        else:
            response = client.generic(method, path, payload, "application/json", **auth)
        assert_mlflow_answer(response, method, path)

    check()


WRITES = [(p, m) for p, m, _view in ENDPOINTS if m != "GET"]


@FUZZ
@given(endpoint=st.sampled_from(WRITES), body=raw_bodies(), part=path_parts)
def test_no_body_gets_a_5xx(client, world, endpoint, body, part):
    """Bytes that are not a JSON object (binary, text, deep nesting, arrays) on any write."""
    template, method = endpoint
    path = re.sub(r"{\w+}", quote(part, safe="/"), template)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world['token']}"}
    response = client.generic(method, path, body, "application/json", **auth)
    assert_mlflow_answer(response, method, path)
