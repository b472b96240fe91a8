"""Version comparison: what differs, what is best, what is identical; and who sees what."""

import csv
import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from registry import comparison
from registry.comparison import (
    HIGHER,
    LOWER,
    compare,
    comparison_csv,
    metric_direction,
    parse_selection,
    versions_to_compare,
)
from registry.models import Stage
from registry.services.cards import card_save
from tests.factories import make_model, make_version


def m(name, value, dataset=""):
    return {"name": name, "value": value, "dataset": dataset}


def rows_by_label(rows):
    return {(r.label, r.detail): r for r in rows}


@pytest.fixture
def three(scientist, model):
    """Three versions: overlapping, disjoint and identical metrics, params and artifacts."""
    v1 = make_version(
        scientist,
        model,
        files={"model.pkl": b"weights-1", "README.txt": b"same", "old.bin": b"gone later"},
        metrics=[m("auc", 0.90), m("loss", 0.30), m("auc", 0.80, "age>=65"), m("only_v1", 1)],
        params={"lr": "0.1", "depth": "6", "seed": "42"},
        lineage={
            "run_id": "run-1",
            "code_commit": "abc123",
            "dataset_name": "tx-2024",
            "dataset_hash": "sha256:aaa",
            "framework": "xgboost",
        },
        tags={"team": "fraud", "candidate": "yes"},
    )
    v2 = make_version(
        scientist,
        model,
        files={"model.pkl": b"weights-2", "README.txt": b"same", "new.json": b"{}"},
        metrics=[m("auc", 0.93), m("loss", 0.25), m("auc", 0.85, "age>=65"), m("only_v2", 2)],
        params={"lr": "0.05", "depth": "6", "seed": "42", "subsample": "0.8"},
        lineage={
            "run_id": "run-2",
            "code_commit": "def456",
            "dataset_name": "tx-2024",
            "dataset_hash": "sha256:bbb",
            "framework": "xgboost",
        },
        tags={"team": "fraud"},
    )
    v3 = make_version(
        scientist,
        model,
        files={"model.pkl": b"weights-2", "README.txt": b"same"},
        metrics=[m("auc", 0.93), m("loss", 0.28)],
        params={"lr": "0.05", "depth": "6", "seed": "42", "subsample": "0.8"},
        lineage={
            "run_id": "run-2",
            "code_commit": "def456",
            "dataset_name": "tx-2024",
            "dataset_hash": "sha256:bbb",
            "framework": "xgboost",
        },
        tags={"team": "fraud"},
    )
    return v1, v2, v3


def test_metrics_overlapping_disjoint_and_best(scientist, model, three):
    # In the order selected: the first is the baseline.
    assert [v.version for v in versions_to_compare(scientist, model, [3, 1, 2])] == [3, 1, 2]
    result = compare(versions_to_compare(scientist, model, [1, 2, 3]))
    assert result.baseline.version == 1
    rows = rows_by_label(result.metrics)
    # Overall figures first, then the slices.
    assert [(r.label, r.detail) for r in result.metrics] == [
        ("auc", ""),
        ("loss", ""),
        ("only_v1", ""),
        ("only_v2", ""),
        ("auc", "age>=65"),
    ]
    auc = rows[("auc", "")]
    assert [c.value for c in auc.cells] == [0.90, 0.93, 0.93]
    assert [c.best for c in auc.cells] == [False, True, True]  # a tie: both are best
    assert auc.cells[0].delta is None and auc.cells[1].delta == pytest.approx(0.03)
    assert auc.cells[1].delta_pct == pytest.approx(3.333, abs=1e-3)
    assert auc.cells[1].extra["trend"] == "better" and auc.direction == HIGHER
    loss = rows[("loss", "")]
    assert loss.direction == LOWER
    assert [c.best for c in loss.cells] == [False, True, False]  # lower is better
    assert loss.cells[2].delta == pytest.approx(-0.02) and loss.cells[2].extra["trend"] == "better"
    # Disjoint: present in one version only; nothing to call best.
    only = rows[("only_v1", "")]
    assert [c.present for c in only.cells] == [True, False, False]
    assert not any(c.best for c in only.cells) and only.differs
    assert [c.changed for c in only.cells] == [False, True, True]
    sliced = rows[("auc", "age>=65")]
    assert [c.value for c in sliced.cells] == [0.80, 0.85, None]
    assert result.metric_names == ["auc", "loss", "only_v1", "only_v2"]


def test_params_tags_and_lineage(scientist, model, three):
    result = compare(versions_to_compare(scientist, model, [1, 2, 3]))
    assert [r.label for r in result.params_differing] == ["lr", "subsample"]
    assert [r.label for r in result.params_identical] == ["depth", "seed"]
    lr = rows_by_label(result.params)[("lr", "")]
    assert [c.changed for c in lr.cells] == [False, True, True]
    subsample = rows_by_label(result.params)[("subsample", "")]
    assert [c.present for c in subsample.cells] == [False, True, True]
    assert [r.label for r in result.tags_differing] == ["candidate"]
    assert [r.label for r in result.tags_identical] == ["team"]
    lineage = {r.detail: r for r in result.lineage}
    assert set(lineage) == {"run_id", "code_commit", "dataset_name", "dataset_hash", "framework"}
    assert lineage["dataset_hash"].differs and not lineage["dataset_name"].differs
    assert [c.changed for c in lineage["code_commit"].cells] == [False, True, True]


def test_artifacts_matched_by_path(scientist, model, three):
    result = compare(versions_to_compare(scientist, model, [1, 2, 3]))
    rows = {r.label: r for r in result.artifacts}
    assert list(rows) == ["README.txt", "model.pkl", "new.json", "old.bin"]
    assert [c.status for c in rows["README.txt"].cells] == ["base", "identical", "identical"]
    assert not rows["README.txt"].differs
    assert [c.status for c in rows["model.pkl"].cells] == ["base", "changed", "changed"]
    assert [c.status for c in rows["new.json"].cells] == ["absent", "added", "absent"]
    assert [c.status for c in rows["old.bin"].cells] == ["base", "removed", "removed"]
    assert rows["model.pkl"].cells[1].extra["size"] == len(b"weights-2")
    # Against v2 as the baseline, v3's model is the same file.
    result = compare(versions_to_compare(scientist, model, [1, 2, 3]), baseline=2)
    rows = {r.label: r for r in result.artifacts}
    assert [c.status for c in rows["model.pkl"].cells] == ["changed", "base", "identical"]
    assert [c.status for c in rows["new.json"].cells] == ["removed", "base", "removed"]


def test_identical_versions_show_no_differences(scientist, model):
    kwargs = {
        "files": {"a.bin": b"same"},
        "metrics": [m("auc", 0.9)],
        "params": {"lr": "0.1"},
        "lineage": {"run_id": "r", "framework": "sklearn"},
        "tags": {"t": "1"},
    }
    make_version(scientist, model, **kwargs)
    make_version(scientist, model, **kwargs)
    result = compare(versions_to_compare(scientist, model, [1, 2]))
    assert not any(r.differs for r in result.metrics + result.params + result.tags)
    assert not any(r.differs for r in result.lineage + result.artifacts)
    assert not any(c.best for r in result.metrics for c in r.cells)
    assert (
        result.metrics[0].cells[1].delta == 0
        and result.metrics[0].cells[1].extra["trend"] == "same"
    )
    assert [c.status for c in result.artifacts[0].cells] == ["base", "identical"]
    assert result.params_differing == [] and len(result.params_identical) == 1


def test_card_sections_compared_as_diffs(scientist, model, three):
    v1, v2, v3 = three
    card_save(
        actor=scientist,
        version=v1,
        sections={"intended_use": "Score payments.", "contact": "a@example.com"},
        metadata={"license": "mit"},
    )
    card_save(
        actor=scientist,
        version=v2,
        sections={"intended_use": "Score payments.\nAnd refunds.", "contact": "a@example.com"},
        metadata={"license": "apache-2.0"},
    )
    result = compare(versions_to_compare(scientist, model, [1, 2, 3]))
    sections = {s.section.key: s for s in result.card_sections}
    intended = sections["intended_use"]
    assert intended.differs and intended.diffs[0] is None
    assert [(d.op, d.text) for d in intended.diffs[1]] == [
        ("equal", "Score payments."),
        ("insert", "And refunds."),
    ]
    # v3 was uploaded before these edits: its card started empty.
    assert sections["contact"].texts == ["a@example.com", "a@example.com", ""]
    assert sections["contact"].diffs[1] is None and sections["contact"].diffs[2]
    [licence] = [r for r in result.card_details if r.detail == "license"]
    assert [c.value for c in licence.cells] == ["mit", "apache-2.0", ""]
    assert [c.changed for c in licence.cells] == [False, True, True]


def test_status_and_approval(scientist, model, three):
    v1, v2, _ = three
    v1.stage, v1.production_approved_at = Stage.ARCHIVED, timezone.now()
    v1.save()
    result = compare(versions_to_compare(scientist, model, [1, 2]))
    assert [s["stage"] for s in result.status] == ["Archived", "None"]
    assert (
        result.status[0]["production_approved_at"]
        and not result.status[1]["production_approved_at"]
    )
    assert result.status[1]["request"] is None
    assert all(0 <= s["completeness"].score <= 100 for s in result.status)


def test_the_selection_only_ever_holds_visible_versions(
    scientist, other_scientist, viewer, auditor, model, three
):
    other_model = make_model(other_scientist, name="someone-elses")
    make_version(other_scientist, other_model)
    # No grant on the model: nothing, whatever numbers are asked for.
    assert versions_to_compare(other_scientist, model, [1, 2, 3]) == []
    # A viewer and an auditor see the versions of the model they were granted.
    assert [v.version for v in versions_to_compare(viewer, model, [1, 2])] == [1, 2]
    # Asking for another model's versions through this model gives this model's or nothing.
    assert versions_to_compare(scientist, other_model, [1]) == []
    assert [v.registered_model_id for v in versions_to_compare(scientist, model, [1])] == [model.pk]
    # Metric history follows the same rule.
    assert comparison.metric_history(other_scientist, model, ["auc"]) == {"auc": []}
    assert comparison.metric_history(viewer, model, ["auc"])["auc"] == [
        (1, 0.9),
        (2, 0.93),
        (3, 0.93),
    ]
    # Auditors read everything (a model-wide view grant).
    assert len(comparison.metric_history(auditor, model, ["auc"])["auc"]) == 3


def test_parse_selection():
    assert parse_selection(["3", "v1", "1,4", "x", "", "0", "3"]) == ([3, 1, 4], ["x", "0"])


def test_metric_direction(settings):
    for name in ("loss", "val_loss", "logloss", "RMSE", "mae", "p95_latency_ms", "error_rate"):
        assert metric_direction(name) == LOWER, name
    for name in ("auc", "accuracy", "f1", "recall"):
        assert metric_direction(name) == HIGHER, name
    settings.ATTEST_METRIC_DIRECTIONS = ["mae:higher", "fpr:lower", "Brier score:lower"]
    assert metric_direction("mae") == HIGHER and metric_direction("FPR") == LOWER
    assert metric_direction("brier score") == LOWER
    settings.ATTEST_METRIC_DIRECTIONS = ["auc:up"]
    with pytest.raises(ImproperlyConfigured):
        metric_direction("auc")


def test_csv_export(scientist, model, three):
    v1, _, _ = three
    card_save(actor=scientist, version=v1, sections={"contact": '=HYPERLINK("x")'})
    result = compare(versions_to_compare(scientist, model, [1, 2, 3]))
    rows = list(csv.reader(io.StringIO(comparison_csv(result))))
    assert rows[0] == ["section", "item", "detail", "v1", "v2", "v3", "differs"]
    by_key = {(r[0], r[1], r[2]): r[3:] for r in rows[1:]}
    assert by_key[("metric", "auc", "overall")] == ["0.9", "0.93", "0.93", "yes"]
    assert by_key[("metric", "only_v1", "overall")] == ["1.0", "", "", "yes"]
    assert by_key[("param", "depth", "")] == ["6", "6", "6", "no"]
    assert by_key[("artifact", "model.pkl", "status")] == ["base", "changed", "changed", "yes"]
    assert by_key[("status", "stage", "")] == ["None", "None", "None", "no"]
    assert by_key[("lineage", "Commit", "")] == ["abc123", "def456", "def456", "yes"]
    # Text a spreadsheet would run is quoted; negative numbers stay numbers.
    card_save(
        actor=scientist, version=v1, sections={"contact": "x"}, metadata={"developers": "=1+1"}
    )
    result = compare(versions_to_compare(scientist, model, [1, 2]))
    text = comparison_csv(result)
    assert "'=1+1" in text and ",=1+1" not in text
