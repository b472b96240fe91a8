"""Model cards: carry forward, saving revisions, the lock, completeness and the gate."""

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.utils import timezone

from governance.models import AuditEvent
from governance.policy import EXTRA_GATES, evaluate_gates
from registry.cards import (
    SECTION_KEYS,
    card_completeness,
    card_of,
    completeness_of,
    line_diff,
    required_section_keys,
    slice_table,
)
from registry.models import ModelCard, ModelCardRevision, Stage
from registry.services.cards import CardLocked, card_save
from tests.factories import make_version

FULL = {key: f"Text of {key.replace('_', ' ')}." for key in SECTION_KEYS}
DETAILS = {"developers": "Fraud team", "model_type": "GBM classifier", "license": "apache-2.0"}


def test_a_new_version_gets_an_empty_card_in_the_same_event(scientist, model, audit_count):
    version = make_version(scientist, model)
    card = ModelCard.objects.get(model_version=version)
    assert card.sections == {} and not card.carried_over and card.revision_count == 1
    revision = card.revisions.get()
    assert revision.source == ModelCardRevision.Source.CREATED
    assert revision.author == scientist and revision.author_username == "dana"
    assert audit_count() == 1  # only version.create
    event = AuditEvent.objects.latest("id")
    assert event.action == "version.create"
    assert event.after["card"] == {"carried_over_from": None, "sections": []}


def test_the_next_version_carries_the_card_forward_until_edited(scientist, model, version):
    card_save(actor=scientist, version=version, sections=FULL, metadata=DETAILS)
    v2 = make_version(scientist, model)
    card = v2.card
    assert card.carried_over and card.carried_from_version == 1
    assert card.sections == FULL and card.metadata == DETAILS
    assert card.revisions.get().source == ModelCardRevision.Source.CARRIED_OVER
    event = AuditEvent.objects.filter(action="version.create").latest("id")
    assert event.after["card"]["carried_over_from"] == 1
    assert event.after["card"]["sections"] == sorted(FULL)

    # Saving it unchanged is a review: it is no longer marked as carried over.
    revision = card_save(actor=scientist, version=v2, sections=FULL, metadata=DETAILS)
    card.refresh_from_db()
    assert revision.number == 2 and not card.carried_over

    # Version 3 copies the newest card, version 2's, and not version 1's.
    card_save(actor=scientist, version=v2, sections=FULL | {"contact": "ml@bank.example"})
    v3 = make_version(scientist, model)
    assert v3.card.sections["contact"] == "ml@bank.example"
    assert v3.card.carried_from_version == 2


def test_card_save_writes_a_revision_and_one_audit_event(scientist, version, audit_count):
    revision = card_save(
        actor=scientist,
        version=version,
        sections={"intended_use": "Score  \r\ncard payments.\n\n", "bogus": "x"},
        metadata={"license": "mit", "tags": "fraud, payments, fraud"},
        note="First draft",
    )
    assert audit_count() == 1
    card = ModelCard.objects.get(model_version=version)
    assert card.sections == {"intended_use": "Score\ncard payments."}  # cleaned, known keys only
    assert card.metadata == {"license": "mit", "tags": ["fraud", "payments"]}
    assert (revision.number, revision.note, revision.author) == (2, "First draft", scientist)
    assert card.revision_count == 2 and card.updated_by == scientist
    event = AuditEvent.objects.latest("id")
    assert event.action == "card.save" and event.target_type == "registry.modelcard"
    assert event.model_version_id == version.pk
    assert event.registered_model_id == version.registered_model_id
    assert event.before["sections"] == {"intended_use": ""}
    assert event.after["sections"] == {"intended_use": "Score\ncard payments."}
    assert event.after["revision"] == 2
    assert "intended_use" not in event.after["completeness"]["missing"]

    # Nothing changed: nothing written, nothing audited.
    assert card_save(actor=scientist, version=version, sections=card.sections) is None
    assert audit_count() == 1


def test_only_writers_may_save(viewer, auditor, other_scientist, version):
    for user in (viewer, auditor, other_scientist):
        with pytest.raises(PermissionDenied):
            card_save(actor=user, version=version, sections=FULL)
    assert not AuditEvent.objects.filter(action="card.save").exists()


def test_a_conflicting_save_is_refused(scientist, version):
    card_save(actor=scientist, version=version, sections={"contact": "a"}, expected_revision=1)
    with pytest.raises(ValidationError) as excinfo:
        card_save(actor=scientist, version=version, sections={"contact": "b"}, expected_revision=1)
    assert excinfo.value.code == "conflict"
    assert card_of(version).sections == {"contact": "a"}


def test_validation_errors_name_the_field(scientist, version):
    with pytest.raises(ValidationError) as excinfo:
        card_save(
            actor=scientist,
            version=version,
            sections={"contact": "x" * 50_001},
            metadata={"license": "Apache 2.0"},
        )
    assert set(excinfo.value.error_dict) == {"contact", "license"}


@pytest.mark.parametrize("how", ["approved", "stage"])
def test_the_card_locks_once_approved_for_production(scientist, version, audit_count, how):
    if how == "approved":
        version.production_approved_at = timezone.now()
        version.stage = Stage.ARCHIVED  # archived later: still locked
    else:
        version.stage = Stage.PRODUCTION
    version.save()
    with pytest.raises(CardLocked, match="locked"):
        card_save(actor=scientist, version=version, sections=FULL)
    assert audit_count() == 0
    # A new version can carry the text forward and be edited.
    v2 = make_version(scientist, version.registered_model)
    assert card_save(actor=scientist, version=v2, sections=FULL).number == 2


def test_completeness_follows_the_setting(settings, scientist, version):
    settings.ATTEST_MODEL_CARD_REQUIRED_SECTIONS = ["intended_use", "contact", "model_details"]
    card = card_of(version)
    result = card_completeness(card)
    assert result.score == 0 and [s.key for s in result.missing] == [
        "intended_use",
        "contact",
        "model_details",
    ]
    card_save(actor=scientist, version=version, sections={"intended_use": "x", "contact": "y"})
    result = card_completeness(card_of(version))
    assert result.score == 66 and result.missing_titles == ["Model details"]
    # Model details are complete from the structured fields alone.
    card_save(
        actor=scientist, version=version, sections=card_of(version).sections, metadata=DETAILS
    )
    assert card_completeness(card_of(version)).complete

    settings.ATTEST_MODEL_CARD_REQUIRED_SECTIONS = ["intended_use", "no_such_section"]
    with pytest.raises(ImproperlyConfigured, match="no_such_section"):
        required_section_keys()
    settings.ATTEST_MODEL_CARD_REQUIRED_SECTIONS = []
    assert completeness_of({}, {}, has_slices=False).score == 100


def test_placeholders_and_blank_text_do_not_count(settings):
    settings.ATTEST_MODEL_CARD_REQUIRED_SECTIONS = ["intended_use", "quantitative_analyses"]
    result = completeness_of(
        {"intended_use": "  [More Information Needed]\n "}, {}, has_slices=False
    )
    assert result.missing_titles == ["Intended use", "Quantitative analyses"]
    # Sliced metrics fill the quantitative analyses on their own.
    result = completeness_of({"intended_use": "x"}, {}, has_slices=True)
    assert result.complete


def test_the_slice_table_comes_from_metrics_with_a_slice(scientist, model):
    version = make_version(
        scientist,
        model,
        metrics=[
            {"name": "auc", "value": 0.91, "dataset": ""},
            {"name": "auc", "value": 0.85, "dataset": "age>=65"},
            {"name": "recall", "value": 0.7, "dataset": "age>=65"},
            {"name": "auc", "value": 0.93, "dataset": "age<30"},
            {"name": "loss", "value": 0.2, "dataset": ""},
        ],
    )
    table = slice_table(version.metrics.all())
    assert table.names == ["auc", "recall"]
    assert table.rows == [
        ("overall", [0.91, None]),
        ("age<30", [0.93, None]),
        ("age>=65", [0.85, 0.7]),
    ]
    assert not slice_table(version.metrics.filter(dataset=""))


def test_the_approval_gate_uses_completeness(settings, scientist, version):
    settings.ATTEST_MODEL_CARD_REQUIRED_SECTIONS = ["intended_use", "contact"]
    assert "model_card" in EXTRA_GATES  # registered by governance.apps

    def card_gate():
        gates = evaluate_gates(version, {"require_model_card": True, "require_risk_class": False})
        return next(g for g in gates if g.name == "Model card complete")

    gate = card_gate()
    assert not gate.passed and "missing intended use, contact" in gate.reason
    card_save(actor=scientist, version=version, sections={"intended_use": "x", "contact": "y"})
    gate = card_gate()
    assert gate.passed, gate.reason
    gates = evaluate_gates(version, {"require_model_card": False, "require_risk_class": False})
    assert "Model card complete" not in [g.name for g in gates]


def test_line_diff_marks_changes_and_folds_long_unchanged_runs():
    old = "\n".join(f"line {i}" for i in range(20))
    new = old.replace("line 10", "line ten") + "\nline 20"
    lines = line_diff(old, new)
    ops = [(d.op, d.text) for d in lines]
    assert ("delete", "line 10") in ops and ("insert", "line ten") in ops
    assert ("insert", "line 20") in ops
    skips = [d.text for d in lines if d.op == "skip"]
    assert skips == ["8 unchanged lines", "5 unchanged lines"]
    assert line_diff("same", "same") == [type(lines[0])("equal", "same")]
