"""Semantics MLflow's own tests (benchmarks/mlflow_compat.py) expect, one test per fix."""

import pytest

from tests.mlflow_api.test_wire import api  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

P = "/api/2.0/mlflow/"


def test_latest_versions_carry_their_tags(api, scientist, version):  # noqa: F811
    name, number = version.registered_model.name, str(version.version)
    response = api(
        scientist,
        "post",
        P + "model-versions/set-tag",
        {"name": name, "version": number, "key": "k", "value": "v"},
    )
    assert response.status_code == 200
    latest = api(scientist, "post", P + "registered-models/get-latest-versions", {"name": name})
    assert latest.json()["model_versions"][0]["tags"] == [{"key": "k", "value": "v"}]
    model = api(scientist, "get", P + "registered-models/get", {"name": name}).json()
    assert model["registered_model"]["latest_versions"][0]["tags"] == [{"key": "k", "value": "v"}]
    found = api(scientist, "get", P + "registered-models/search", {}).json()
    assert found["registered_models"][0]["latest_versions"][0]["tags"] == [
        {"key": "k", "value": "v"}
    ]


def test_model_names_may_hold_spaces_but_not_at_the_ends(api, scientist, client):  # noqa: F811
    create = P + "registered-models/create"
    response = api(scientist, "post", create, {"name": "UpdateRMTest 2"})
    assert response.status_code == 200, response.content
    got = api(scientist, "get", P + "registered-models/get", {"name": "UpdateRMTest 2"})
    assert got.json()["registered_model"]["name"] == "UpdateRMTest 2"
    for bad in (" lead", "trail ", "x" * 129):
        response = api(scientist, "post", create, {"name": bad})
        assert response.status_code == 400, bad
    client.force_login(scientist)
    page = client.get("/models/UpdateRMTest%202/")
    assert page.status_code == 200 and b"UpdateRMTest 2" in page.content
