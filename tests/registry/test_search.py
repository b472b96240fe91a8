import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance import access
from registry import selectors
from tests.conftest import client_for
from tests.factories import make_model, make_team, make_user, make_version


@pytest.fixture
def catalogue(scientist, team):
    credit = make_team("Credit risk")
    scientist.groups.add(credit)
    fraud = make_model(
        scientist,
        name="fraud-detector",
        team=team,
        description="Scores card transactions",
        tags={"domain": "payments"},
    )
    make_version(
        scientist,
        fraud,
        lineage={"framework": "xgboost", "dataset_name": "txn-2025", "run_id": "abc123run"},
    )
    credit_model = make_model(
        scientist,
        name="credit-scoring",
        team=credit,
        description="Probability of default for loans",
        tags={"regulated": "eu-ai-act"},
    )
    make_version(scientist, credit_model, lineage={"framework": "sklearn"})
    insights = make_team("Customer insights")
    scientist.groups.add(insights)
    churn = make_model(
        scientist, name="churn_predictor", team=insights, description="Customer churn propensity"
    )
    return {"fraud": fraud, "credit": credit_model, "churn": churn}


def names(user, **kwargs):
    return sorted(m.name for m in selectors.model_search(user, **kwargs))


@pytest.mark.parametrize(
    "query, expected",
    [
        ("fraud", ["fraud-detector"]),
        ("FRAUD", ["fraud-detector"]),
        ("frau", ["fraud-detector"]),  # prefix
        ("detector", ["fraud-detector"]),  # a part of a hyphenated name
        ("transactions", ["fraud-detector"]),  # description
        ("payments", ["fraud-detector"]),  # tag value
        ("regulated", ["credit-scoring"]),  # tag key
        ("credit risk", ["credit-scoring"]),  # team name, two words
        ("xgboost", ["fraud-detector"]),  # version framework
        ("txn", ["fraud-detector"]),  # training dataset
        ("abc123run", ["fraud-detector"]),  # run id
        ("dana", ["churn_predictor", "credit-scoring", "fraud-detector"]),  # owner
        ("predictor", ["churn_predictor"]),
        ("card loans", []),  # every word must match
        ("nothing-like-this", []),
    ],
)
def test_search_matches_every_word_as_a_prefix(catalogue, scientist, query, expected):
    assert names(scientist, q=query) == expected


@pytest.mark.parametrize("query", ['"', "*", "AND OR NOT", 'fraud"*', "(", "ü", "%", "_", "'"])
def test_odd_queries_never_fail(catalogue, scientist, query):
    names(scientist, q=query)  # no exception
    response = client_for(scientist).get(reverse("registry:model-list"), {"q": query})
    assert response.status_code == 200


def test_search_never_shows_models_outside_the_grant(catalogue, other_scientist):
    assert names(other_scientist, q="fraud") == []
    assert names(other_scientist) == []
    access.grant(catalogue["fraud"], "view", user=other_scientist)
    assert names(other_scientist, q="fraud") == ["fraud-detector"]
    assert names(other_scientist, q="credit") == []


def test_filters(catalogue, scientist):
    assert names(scientist, team="Credit risk") == ["credit-scoring"]
    assert names(scientist, tag="domain") == ["fraud-detector"]
    assert names(scientist, tag="domain=payments") == ["fraud-detector"]
    assert names(scientist, tag="domain=other") == []
    assert names(scientist, framework="SKLEARN") == ["credit-scoring"]
    assert names(scientist, stage="None") == ["credit-scoring", "fraud-detector"]
    assert names(scientist, stage="Production") == []
    assert names(scientist, q="fraud", team="Credit risk") == []


def test_sorting(catalogue, scientist):
    by_name = [m.name for m in selectors.model_search(scientist, sort="name")]
    assert by_name == ["churn_predictor", "credit-scoring", "fraud-detector"]
    assert [m.name for m in selectors.model_search(scientist, sort="-name")] == by_name[::-1]
    newest_first = [m.name for m in selectors.model_search(scientist, sort="-updated")]
    assert newest_first[0] == "churn_predictor"


def test_live_search_returns_a_partial_for_htmx(catalogue, scientist):
    client = client_for(scientist)
    url = reverse("registry:model-list")
    full = client.get(url, {"q": "fraud"})
    partial = client.get(url, {"q": "fraud"}, HTTP_HX_REQUEST="true")
    assert b"<html" in full.content and b"<html" not in partial.content
    assert b"fraud-detector" in partial.content and b"credit-scoring" not in partial.content
    assert "HX-Request" in full["Vary"] and "HX-Request" in partial["Vary"]


def _queries_for(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_page_query_count_does_not_grow_with_rows(scientist, team):
    client = client_for(scientist)
    url = reverse("registry:model-list")
    for i in range(3):
        make_version(
            scientist, make_model(scientist, name=f"small-{i}", team=team, tags={"k": str(i)})
        )
    few = _queries_for(client, url)
    # A search costs one query more than the plain list (it first reads the matching ids
    # if there are few: registry.selectors._model_filter), however many models match; on
    # PostgreSQL one more, the planner's estimate (registry.search.match_size).
    few_searched = _queries_for(client, url, {"q": "small"})
    assert few_searched == few + (2 if connection.vendor == "postgresql" else 1)
    for i in range(20):
        make_version(
            scientist,
            make_model(scientist, name=f"more-{i}", team=team, tags={"k": str(i), "x": "y"}),
        )
    assert _queries_for(client, url) == few
    assert _queries_for(client, url, {"q": "more"}) == few_searched


def test_model_page_query_count_does_not_grow_with_versions(scientist, model):
    client = client_for(scientist)
    url = reverse("registry:model-detail", args=[model.name])
    make_version(scientist, model)
    few = _queries_for(client, url)
    for _ in range(10):
        make_version(
            scientist,
            model,
            metrics=[
                {"name": "auc", "value": 0.8, "dataset": ""},
                {"name": "f1", "value": 0.5, "dataset": ""},
            ],
        )
    assert _queries_for(client, url) == few


def test_version_page_query_count_does_not_grow_with_rows(scientist, model):
    client = client_for(scientist)
    small = make_version(scientist, model, files={"a.json": b"1"})
    few = _queries_for(client, reverse("registry:version-detail", args=[model.name, small.version]))
    big = make_version(
        scientist,
        model,
        files={f"f{i}.json": b"x" * (i + 1) for i in range(8)},
        metrics=[{"name": f"m{i}", "value": i, "dataset": ""} for i in range(10)],
        params={f"p{i}": str(i) for i in range(10)},
        tags={f"t{i}": "v" for i in range(5)},
    )
    url = reverse("registry:version-detail", args=[model.name, big.version])
    assert _queries_for(client, url) == few


def test_team_filter_lists_every_team_and_filters_within_what_the_user_sees(
    catalogue, other_scientist
):
    """The team names are the organisation's directory (the grant form lists them too);
    choosing a team shows only that team's models the user may see."""
    make_model(other_scientist, name="elsewhere", team=make_team("Other team"))
    viewer = make_user("v2", access.ROLE_DATA_SCIENTISTS)
    access.grant(catalogue["credit"], "view", user=viewer)
    teams = [t.name for t in selectors.filter_teams()]
    assert "Credit risk" in teams and "Other team" in teams
    assert not set(teams) & set(access.SYSTEM_GROUPS)
    page = client_for(viewer).get(reverse("registry:model-list"), {"team": "Other team"})
    assert b"elsewhere" not in page.content and b"No model matches" in page.content
    assert [m.name for m in selectors.model_search(viewer, team="Credit risk")] == [
        catalogue["credit"].name
    ]


@pytest.fixture
def punctuated(scientist, team):
    """A model whose searchable text is full of URLs, paths, addresses, versions and
    accents: what PostgreSQL's parser and FTS5 would otherwise split differently."""
    model = make_model(
        scientist,
        name="cv-ranker",
        team=team,
        description="Ranks each Résumé. Owner: ml-platform@example.org; release 2.14.3 (Café)",
    )
    make_version(
        scientist,
        model,
        lineage={
            "framework": "lightgbm",
            "dataset_name": "s3://hr-bucket/train/cvs_2025.parquet",
            "code_repository": "https://git.example.com/talent/ranker.git",
        },
    )
    return model


@pytest.mark.parametrize(
    "query",
    [
        "resume",  # accents folded, in the text
        "résumé",  # and in the query
        "RÉSUMÉ ranker",
        "cafe",
        "café",
        "example",  # inside an e-mail address and a URL
        "platform",
        "git example talent",  # a URL's host and path
        "ranker git",
        "bucket",  # an s3:// path
        "hr bucket train",
        "cvs 2025 parquet",  # underscore and dot
        "2 14 3",  # a version number, by its parts
        "14",
        "ml-platform@example.org",  # the whole address, as typed
        "https://git.example.com/talent/ranker.git",
    ],
)
def test_punctuated_words_are_found_on_both_engines(punctuated, scientist, query):
    """CI runs this on SQLite (FTS5) and on PostgreSQL (tsvector): the same results."""
    assert names(scientist, q=query) == ["cv-ranker"]


def test_folding_keeps_words_apart(punctuated, scientist):
    assert names(scientist, q="resumes") == []
    assert names(scientist, q="example.net") == []
    assert names(scientist, q="2.15") == []


def test_migration_folds_the_search_text_of_existing_models(punctuated, scientist):
    """Models saved before search text was folded are found once the migration ran."""
    from importlib import import_module

    from django.apps import apps

    from registry.models import RegisteredModel

    migration = import_module("registry.migrations.0010_search_words")
    RegisteredModel.objects.filter(pk=punctuated.pk).update(search_text="Résumé Café naïve")
    # FTS5 folds accents itself; PostgreSQL's 'simple' configuration does not.
    assert (names(scientist, q="naive") == []) == (connection.vendor == "postgresql")

    class Editor:
        connection = connection

    migration.fold_search_text(apps, Editor())
    punctuated.refresh_from_db()
    assert punctuated.search_text == "Resume Cafe naive"
    assert names(scientist, q="naive") == names(scientist, q="naïve") == ["cv-ranker"]


@pytest.mark.parametrize("query", ["%", "_", "%%", "_%_", "*", "'"])
def test_punctuation_only_search_matches_nothing(catalogue, scientist, query):
    # Issue #19, item 5: "%" and "_" listed every model.
    assert names(scientist, q=query) == []
    response = client_for(scientist).get(reverse("registry:model-list"), {"q": query})
    assert b"fraud-detector" not in response.content


@pytest.mark.parametrize("typed", ["sklearn", "scikit-learn", "Scikit-Learn", " SKLEARN "])
def test_framework_filter_knows_common_aliases(catalogue, scientist, typed):
    # Issue #19, item 4: the placeholder said "e.g. sklearn" but only "scikit-learn" matched.
    assert names(scientist, framework=typed) == ["credit-scoring"]


def test_framework_alias_finds_the_canonical_name(scientist, team):
    logged = make_model(scientist, name="canonical", team=team)
    make_version(scientist, logged, lineage={"framework": "scikit-learn"})
    assert names(scientist, framework="sklearn") == ["canonical"]
    assert names(scientist, framework="xgboost") == []
