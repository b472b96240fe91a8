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


def test_experiment_search_filters_orders_and_pages(api, scientist):  # noqa: F811
    for name, tags in (("alpha", {"team": "fraud"}), ("beta", {"team": "churn"}), ("gamma", {})):
        body = {"name": name, "tags": [{"key": k, "value": v} for k, v in tags.items()]}
        assert api(scientist, "post", P + "experiments/create", body).status_code == 200
    search = P + "experiments/search"

    def names(body):
        response = api(scientist, "post", search, body)
        assert response.status_code == 200, response.content
        return [e["name"] for e in response.json().get("experiments", [])], response.json()

    listed, page = names({})
    assert listed[-1] == "Default" and set(listed) == {"alpha", "beta", "gamma", "Default"}
    keys = [(-int(e["creation_time"]), int(e["experiment_id"])) for e in page["experiments"]]
    assert keys == sorted(keys)  # MLflow's default: creation_time DESC, experiment_id ASC
    assert names({"filter": "name = 'beta'"})[0] == ["beta"]
    assert names({"filter": "name LIKE '%a'"})[0] == ["gamma", "beta", "alpha"]
    assert names({"filter": "tags.team = 'fraud'"})[0] == ["alpha"]
    assert set(names({"filter": "tags.team != 'fraud'"})[0]) == {"beta", "gamma"}
    assert names({"filter": "name LIKE '%a'", "order_by": ["name ASC"]})[0] == [
        "alpha",
        "beta",
        "gamma",
    ]
    first, page = names({"max_results": 2, "order_by": ["name DESC"]})
    assert first == ["gamma", "beta"] and page["next_page_token"]
    second, page = names(
        {"max_results": 2, "order_by": ["name DESC"], "page_token": page["next_page_token"]}
    )
    assert second == ["alpha", "Default"] and "next_page_token" not in page
    assert names({"view_type": "DELETED_ONLY"})[0] == []
    response = api(scientist, "post", search, {"filter": "nope = 1"})
    assert response.status_code == 400


def test_version_search_defaults_to_last_updated_desc(api, scientist, model):  # noqa: F811
    response = api(scientist, "post", P + "registered-models/create", {"name": "b-model"})
    assert response.status_code == 200, response.content
    created = []
    for name in (model.name, "b-model", model.name):
        body = {"name": name, "source": "runs:/abc/model", "run_id": "abc"}
        response = api(scientist, "post", P + "model-versions/create", body)
        assert response.status_code == 200, response.content
        created.append((name, response.json()["model_version"]["version"]))
    found = api(scientist, "get", P + "model-versions/search", {}).json()["model_versions"]
    assert [(v["name"], v["version"]) for v in found] == created[::-1]
    ordered = api(scientist, "get", P + "model-versions/search", {"order_by": "name DESC"})
    names = [v["name"] for v in ordered.json()["model_versions"]]
    assert names == sorted(names, reverse=True)
