"""The model inventory builder (governance/reports/inventory.py): one row per model the
requester can see, with versions by stage, owner, card completeness and last approval;
the summary counts; the team and risk class filters; and a query count that does not grow
with the number of models."""

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance import access
from governance.reports import inventory
from governance.reports.render import render
from governance.reports.scope import ReportScope
from governance.services import decision_record, transition_request_open, version_archive
from registry.cards import version_card_completeness
from registry.services.cards import card_save
from tests.factories import make_model, make_team, make_user, make_version

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[2] / "governance/reports/schemas/report.schema.json"
    ).read_text()
)


def build(user, progress=None, **scope):
    return inventory.build(
        user=user,
        scope=ReportScope(**scope),
        progress=progress or (lambda percent, message: None),
        now=timezone.now(),
    )


def table(doc, section="models", key="inventory") -> list[dict]:
    for s in doc.as_dict()["sections"]:
        for i in s["items"]:
            if s["key"] == section and i["key"] == key:
                blocks = [b for b in i["blocks"] if b["type"] == "table"]
                if not blocks:
                    return []
                cols = blocks[0]["columns"]
                return [dict(zip(cols, row, strict=True)) for row in blocks[0]["rows"]]
    raise AssertionError(f"no item {section}/{key}")


def by_name(doc) -> dict[str, dict]:
    return {row["Model"]: row for row in table(doc)}


def approve_to(scientist, approver, version, stage):
    request = transition_request_open(
        actor=scientist, version=version, target_stage=stage, justification=f"to {stage}"
    )
    decision_record(actor=approver, request=request, outcome="approve", reason=f"{stage} ok")
    return request


@pytest.fixture
def staged(scientist, approver, second_approver, ready_version, model):
    """fraud-detector: v1 in Production (card partly written), v2 in Staging (the last
    approval, by bea), v3 in None, v4 archived."""
    card_save(
        actor=scientist,
        version=ready_version,
        sections={"intended_use": "Scoring card payments.", "metrics": "AUC on holdout."},
    )
    approve_to(scientist, approver, ready_version, "Production")
    v2 = make_version(scientist, model)
    v2.artifacts.update(scan_status="clean")
    approve_to(scientist, second_approver, v2, "Staging")
    make_version(scientist, model)
    v4 = make_version(scientist, model)
    version_archive(actor=scientist, version=v4, reason="superseded")
    ready_version.refresh_from_db()
    return ready_version


@pytest.fixture
def secret(db, other_scientist):
    model = make_model(other_scientist, name="secret-model")
    make_version(other_scientist, model)
    return model


def test_rows_show_stages_owner_card_and_last_approval(scientist, staged, model, team):
    empty = make_model(scientist, name="empty-model", team=team)
    draft = make_model(scientist, name="draft-model", team=team)
    make_version(scientist, draft)
    latest = make_version(scientist, draft)
    card_save(actor=scientist, version=latest, sections={"contact": "dana@example.com"})

    rows = by_name(build(scientist))
    assert set(rows) == {"fraud-detector", "empty-model", "draft-model"}
    row = rows["fraud-detector"]
    assert row["Versions by stage"] == "Production v1; Staging v2; None 1; Archived 1"
    assert (row["Team"], row["Registered by"], row["Risk class"]) == (
        "Fraud analytics",
        "dana",
        "Limited",
    )
    # The card of the Production version, as the approval gate computes it.
    assert row["Card of version"] == "v1"
    completeness = version_card_completeness(staged)
    assert not completeness.complete and completeness.score > 0
    assert row["Card completeness"] == inventory.completeness_text(completeness)
    assert row["Card completeness"].startswith(f"{completeness.score}% (missing Model details")
    assert "Intended use" not in row["Card completeness"]
    # The last approval: v2 to Staging, by bea.
    assert row["Approved for"] == "Staging (v2)" and row["Approved by"] == "bea"
    assert row["Last approval"].startswith(str(timezone.now().year))

    # No Production version: the latest version's card; nothing approved yet.
    assert rows["draft-model"]["Versions by stage"] == "None 2"
    assert rows["draft-model"]["Card of version"] == "v2"
    assert rows["draft-model"]["Card completeness"] == inventory.completeness_text(
        version_card_completeness(latest)
    )
    assert rows["draft-model"]["Last approval"] is None
    assert rows["draft-model"]["Approved by"] is None
    assert rows["empty-model"]["Versions by stage"] == "no versions"
    assert rows["empty-model"]["Card of version"] is None
    assert rows["empty-model"]["Card completeness"] is None
    assert empty.name in rows


def test_summary_counts_by_risk_class_and_stage(scientist, staged, team):
    make_version(scientist, make_model(scientist, name="second", team=team))
    doc = build(scientist)
    risk = {r["Risk class"]: r["Models"] for r in table(doc, "summary", "by_risk_class")}
    assert risk == {"Unclassified": 1, "Minimal": 0, "Limited": 1, "High": 0}
    stages = {r["Stage"]: r for r in table(doc, "summary", "by_stage")}
    assert [
        (s, stages[s]["Versions"], stages[s]["Models with a version in it"]) for s in stages
    ] == [
        ("Production", 1, 1),
        ("Staging", 1, 1),
        ("None", 2, 2),
        ("Archived", 1, 1),
    ]
    facts = dict(doc.facts)
    assert facts["Models"] == 2 and facts["Models in Production"] == 1
    assert facts["Production models with an incomplete card"] == 1
    assert [s.key for s in doc.sections] == ["summary", "models"]
    assert doc.completeness()["missing"] == []


def test_a_model_the_user_cannot_see_appears_nowhere(scientist, staged, secret):
    doc = build(scientist)
    text = json.dumps(doc.as_dict()) + json.dumps(doc.csv_rows)
    assert "secret-model" not in text and "olga" not in text
    assert "fraud-detector" in text
    # A registry-wide auditor sees both.
    auditor = make_user("aude", access.ROLE_AUDITORS)
    assert set(by_name(build(auditor))) == {"fraud-detector", "secret-model"}


def test_team_and_risk_class_filters(scientist, staged, model):
    owner_b = make_user("bob", access.ROLE_DATA_SCIENTISTS, "Team B")
    b_model = make_model(owner_b, name="team-b-model", team=make_team("Team B"))
    access.grant(b_model, "view", user=scientist)
    assert set(by_name(build(scientist))) == {"fraud-detector", "team-b-model"}
    assert set(by_name(build(scientist, team=b_model.team))) == {"team-b-model"}
    assert set(by_name(build(scientist, team=model.team))) == {"fraud-detector"}
    assert set(by_name(build(scientist, risk_class="limited"))) == {"fraud-detector"}
    assert set(by_name(build(scientist, risk_class="unclassified"))) == {"team-b-model"}
    nothing = build(scientist, risk_class="high")
    assert table(nothing) == [] and nothing.csv_rows == []
    assert dict(nothing.facts)["Models"] == 0
    (item,) = [i for i in nothing.as_dict()["sections"][1]["items"]]
    assert item["status"] == "present" and item["blocks"][0]["text"] == "No models in this scope."


def test_csv_is_the_models_table(scientist, staged):
    doc = build(scientist)
    assert doc.csv_columns == inventory.COLUMNS
    assert doc.csv_rows == [list(r.values()) for r in table(doc)]
    jsonschema.validate(json.loads(render(doc, "json").content), SCHEMA)
    lines = list(csv.reader(io.StringIO(render(doc, "csv").content.decode())))
    assert lines[0] == inventory.COLUMNS
    assert lines[1][0] == "fraud-detector"
    assert lines[1][3] == "Production v1; Staging v2; None 1; Archived 1"


def test_pages_give_the_same_rows_and_progress(scientist, staged, team, monkeypatch):
    for n in range(4):
        make_version(scientist, make_model(scientist, name=f"m-{n}", team=team))
    whole = build(scientist)
    monkeypatch.setattr(inventory, "PAGE_SIZE", 2)
    seen = []
    paged = build(scientist, progress=lambda percent, message: seen.append((percent, message)))
    assert paged.csv_rows == whole.csv_rows and len(paged.csv_rows) == 5
    assert [row[0] for row in paged.csv_rows] == sorted(row[0] for row in paged.csv_rows)
    percents = [p for p, _ in seen]
    assert percents == sorted(percents) and percents[-1] == 100
    assert seen[1] == (40, "2 of 5 models")


def _queries(user_pk) -> int:
    user = User.objects.get(pk=user_pk)  # fresh: no permission caches from earlier builds
    with CaptureQueriesContext(connection) as ctx:
        build(user)
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_models(scientist, staged, team):
    for n in range(2):
        make_version(scientist, make_model(scientist, name=f"few-{n}", team=team))
    few = _queries(scientist.pk)
    for n in range(12):
        make_version(scientist, make_model(scientist, name=f"more-{n}", team=team))
    assert len(build(scientist).csv_rows) == 15
    assert _queries(scientist.pk) == few
