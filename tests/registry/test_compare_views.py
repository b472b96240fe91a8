"""The comparison pages: permission matrix, what the page shows, CSV, and query counts."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.services.cards import card_save
from tests.conftest import client_for
from tests.factories import make_model, make_version
from tests.matrix import LOGIN, check_matrix

READERS = {
    "anonymous": LOGIN,
    "no_grant": 404,
    "approver_without_grant": 404,
    "viewer": 200,
    "auditor": 200,
    "owner": 200,
    "admin": 200,
}


@pytest.fixture
def users(scientist, other_scientist, viewer, auditor, approver, registry_admin):
    return {
        "anonymous": None,
        "no_grant": other_scientist,
        "viewer": viewer,
        "auditor": auditor,
        "approver_without_grant": approver,
        "owner": scientist,
        "admin": registry_admin,
    }


def versions(owner, model, count):
    made = []
    for n in range(1, count + 1):
        made.append(
            make_version(
                owner,
                model,
                files={"model.bin": f"weights {n}".encode(), "config.json": b"{}"},
                metrics=[
                    {"name": "auc", "value": 0.8 + n / 100, "dataset": ""},
                    {"name": "loss", "value": 0.5 - n / 100, "dataset": ""},
                    {"name": "auc", "value": 0.7 + n / 100, "dataset": "age>=65"},
                ],
                params={"lr": str(0.1 / n), "depth": "6"},
                lineage={"run_id": f"run-{n}", "framework": "xgboost"},
                tags={"batch": str(n)},
            )
        )
    return made


def compare_url(model, query):
    return reverse("registry:compare", args=[model.name]) + query


def test_compare_matrix(users, scientist, model):
    versions(scientist, model, 2)
    for name in ("registry:compare", "registry:compare-csv"):
        url = reverse(name, args=[model.name]) + "?v=1&v=2"
        check_matrix(users, url, READERS)


def test_the_model_page_offers_checkboxes_to_compare(scientist, model):
    versions(scientist, model, 2)
    content = client_for(scientist).get(model.get_absolute_url()).content.decode()
    assert f'<form id="compare-form" method="get" action="/models/{model.name}/compare/"' in content
    assert content.count('form="compare-form"') == 2
    assert 'name="v" value="2" form="compare-form" aria-label="Compare v2"' in content


def test_the_page_shows_the_comparison(scientist, model):
    versions(scientist, model, 3)
    content = client_for(scientist).get(compare_url(model, "?v=1&v=3&v=2")).content.decode()
    assert "Differences are from the baseline, v1, the first selected." in content
    heads = content.split('id="compare-overview"')[1].split("</thead>")[0]
    assert re.findall(r">v(\d)</a>", heads) == ["1", "3", "2"]  # in the order selected
    # Best values: auc is highest in v3, loss lowest in v3.
    metrics = content.split('id="compare-metrics"')[1].split("</table>")[0]
    assert metrics.count('class="num best') == 3  # auc, loss, auc[age>=65]
    assert "+0.02 (+2.5%)" in metrics  # v3 auc against v1
    assert 'class="delta delta-better"' in metrics and "delta-worse" not in metrics
    params = content.split('id="compare-params"')[1].split("</table>")[0]
    assert "lr" in params and "depth" not in params  # identical ones are folded away
    assert "1 identical parameter</summary>" in content
    artifacts = content.split('id="compare-artifacts"')[1].split("</table>")[0]
    assert artifacts.count('badge-ok">identical') == 2 and artifacts.count(">changed<") == 2
    assert content.count('<svg class="chart"') == 2  # auc and loss
    assert 'data-chart="auc"' in content and "chart-point-selected" in content
    assert 'href="/models/fraud-detector/compare/export.csv?v=1&amp;v=3&amp;v=2"' in content
    # Another baseline: the same selection with that version first; or one version less.
    compare_path = 'href="/models/fraud-detector/compare/'
    assert compare_path + '?v=3&amp;v=1&amp;v=2&amp;m=auc&amp;m=loss"' in content
    assert compare_path + '?v=1&amp;v=2&amp;m=auc&amp;m=loss"' in content


def test_the_chart_covers_every_version_of_the_model(scientist, model):
    versions(scientist, model, 5)
    content = client_for(scientist).get(compare_url(model, "?v=2&v=4&m=loss")).content.decode()
    assert content.count('<svg class="chart"') == 1
    svg = content.split('<svg class="chart"')[1].split("</svg>")[0]
    assert svg.count("<circle") == 5 and svg.count("chart-point-selected") == 2
    assert "<title>v5: 0.45</title>" in svg
    assert "lower is better" in svg


def test_fewer_than_two_versions_offers_the_picker(scientist, model):
    versions(scientist, model, 2)
    client = client_for(scientist)
    for query in ("", "?v=1", "?v=1&v=99", "?v=abc"):
        content = client.get(compare_url(model, query)).content.decode()
        assert "Choose two or more versions" in content, query
        assert 'type="checkbox" name="v" value="2"' in content
    content = client.get(compare_url(model, "?v=1&v=99&v=abc")).content.decode()
    assert "no such version here): v99, &#x27;abc&#x27;" in content


def test_versions_outside_the_users_scope_never_appear(scientist, other_scientist, model):
    versions(scientist, model, 2)
    hidden = make_model(other_scientist, name="hidden-model")
    make_version(other_scientist, hidden)
    make_version(other_scientist, hidden)
    make_version(other_scientist, hidden)
    client = client_for(scientist)
    # Another model's versions cannot be pulled into this model's comparison...
    content = client.get(compare_url(model, "?v=1&v=2&v=3")).content.decode()
    assert "hidden-model" not in content and "no such version here): v3" in content
    assert re.findall(r'<a href="/models/[^/]+/versions/(\d+)/">v\d+</a>', content) == ["1", "2"]
    # ...and the hidden model's own comparison and CSV are 404.
    assert client.get(compare_url(hidden, "?v=1&v=2")).status_code == 404
    csv_url = reverse("registry:compare-csv", args=[hidden.name]) + "?v=1&v=2"
    assert client.get(csv_url).status_code == 404


def test_csv_download(scientist, model):
    versions(scientist, model, 2)
    url = reverse("registry:compare-csv", args=[model.name]) + "?v=2&v=1"
    response = client_for(scientist).get(url)
    assert response["Content-Type"] == "text/csv"
    assert 'filename="fraud-detector-compare-v2-v1.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "item", "detail", "v2", "v1", "differs"]
    assert ["metric", "auc", "age>=65", "0.72", "0.71", "yes"] in rows
    empty = reverse("registry:compare-csv", args=[model.name])
    assert client_for(scientist).get(empty).status_code == 400


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_versions(scientist, model):
    made = versions(scientist, model, 8)
    for v in made:
        card_save(actor=scientist, version=v, sections={"contact": f"team {v.version}"})
    client = client_for(scientist)
    two = _queries(client, compare_url(model, "?v=1&v=2"))
    eight = _queries(client, compare_url(model, "?" + "&".join(f"v={n}" for n in range(1, 9))))
    assert eight == two
    assert two <= 20, two  # a fixed handful: session, user, model, versions, prefetches
    csv_url = reverse("registry:compare-csv", args=[model.name])
    assert _queries(client, csv_url + "?v=1&v=2") == _queries(
        client, csv_url + "?" + "&".join(f"v={n}" for n in range(1, 9))
    )
