"""The fast audit export encoder (governance/export_format.py) against the model-based code it
replaced (tests/governance/export_reference.py): the same bytes for the same rows, and the
same rows for every role."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance import access, audit, audit_log, export_format, exports
from governance.models import AuditEvent
from tests.factories import make_model, make_user
from tests.governance import export_reference

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

# Values whose bytes are easy to get wrong: every JSON type, key order, unicode beyond the
# BMP, escapes, CSV's quote, comma and line breaks, and the numbers orjson writes
# differently from json.dumps (exponents, 64-bit overflow) beside ones it writes alike.
AWKWARD = [
    {"z": 1, "a": {"y": [3, {"c": None, "b": True}], "x": False}, "é": "ü", "A": "Z"},
    {"text": 'comma, "quote", \\ backslash\r\nCRLF\nline\ttab\x08\x0c\x1f\x7f\u2028 end'},
    {"emoji": "🙂 «ok» — 中文", "empty": "", "list": [], "dict": {}},
    {"floats": [0.1, -0.0, 1.5, 0.0001, 123456789012345.6, 0.123456789012345678]},
    {"tiny": 1e-05, "huge": 1e16, "exp": 2.5e-300, "big": 1.7976931348623157e308},
    {"ints": [0, -1, 2**53 + 1, 2**63 - 1, -(2**63)], "beyond": 2**70},
    {"sixteen": 9999999999999999.0, "digits": 1234567890123456},
    [1, "two", [3.25, None]],
    "a bare string, with a comma",
    42,
    None,
]


def record(moment, *, action, after=None, before=None, model=None, actor="system", **context):
    with mock.patch.object(audit.timezone, "now", return_value=moment), transaction.atomic():
        return audit.record(
            actor=actor,
            action=action,
            before=before,
            after=after,
            registered_model_id=model.pk if model else None,
            context=context or None,
        )


@pytest.fixture
def dataset(scientist, model, other_scientist):
    """Events of two models and of none, by users and by the system, with AWKWARD
    snapshots, timestamps with and without microseconds, and a non-UTC zone."""
    churn = make_model(other_scientist, name="churn-model")
    moment = START
    for i, value in enumerate(AWKWARD):
        moment += timedelta(minutes=7, microseconds=0 if i % 2 else 123456 * i + 1)
        record(moment, action="test.after", after=value, model=model, actor=scientist)
        record(
            moment.astimezone(timezone(timedelta(hours=-5))),
            action="test.before",
            before=value,
            after={"n": i},
            model=churn if i % 3 else None,
            note=f'row {i}, "quoted"\n{value if isinstance(value, str) else ""}',
        )
    return churn


def new_bytes(queryset, fmt, *, batch_size=None) -> bytes:
    chunks = exports.jsonl_chunks if fmt == "jsonl" else exports.csv_chunks
    return b"".join(chunks(exports.iter_batches(queryset, batch_size=batch_size)))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("batch_size", [1, 3, None])
def test_same_bytes_as_the_model_based_export(dataset, fmt, batch_size):
    events = AuditEvent.objects.all()
    old = export_reference.export_bytes(events, fmt, batch_size=batch_size)
    new = new_bytes(events, fmt, batch_size=batch_size)
    lines = old.count(b"\n")
    assert lines > 2 * len(AWKWARD)  # the dataset is there, not two empty files
    assert new == old


def test_both_encoders_are_used_and_agree(dataset):
    """Some rows take the orjson path, some the standard library's (risky numbers); the
    file is the same either way, so the fallback is a matter of speed only."""
    rows = [r for batch in exports.iter_batches(AuditEvent.objects.all()) for r in batch]
    slow = 0
    for row in rows:
        try:
            for i in (10, 11, 12):
                export_format._fast_json(row[i])
        except export_format._Slow:
            slow += 1
    assert 0 < slow < len(rows)


@pytest.fixture
def roles(scientist, viewer, auditor, registry_admin, other_scientist, model, dataset):
    """Who exports: the registry-wide roles, a narrowed auditor, an admin narrowed the same
    way, and data scientists (who may read no audit log at all)."""
    return {
        "auditor": auditor,
        "registry_admin": registry_admin,
        "owner": scientist,
        "viewer": viewer,
        "no_grant": other_scientist,
    }


def test_every_role_exports_the_same_rows_as_before(roles, model):
    exported = {}
    for name, user in roles.items():
        events = audit_log.events_visible(user)
        for fmt in ("jsonl", "csv"):
            assert new_bytes(events, fmt) == export_reference.export_bytes(events, fmt), name
        exported[name] = [
            json.loads(line)["id"] for line in new_bytes(events, "jsonl").splitlines()
        ]
        assert exported[name] == list(events.order_by("id").values_list("id", flat=True))
    everything = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    assert exported["auditor"] == exported["registry_admin"] == everything
    assert exported["owner"] == exported["viewer"] == exported["no_grant"] == []
    # The narrowed scopes (audit_log's docstring): the auditor sees only the granted
    # model's events, the admin those and the events of no model.
    for group in (access.ROLE_AUDITORS, access.ROLE_REGISTRY_ADMINS):
        Group.objects.get(name=group).permissions.clear()
    nora = make_user("nora", access.ROLE_AUDITORS)
    nick = make_user("nick", access.ROLE_REGISTRY_ADMINS)
    for user in (nora, nick):
        access.grant(model, "view", user=user)
    narrowed = {}
    for user in (nora, nick):
        events = audit_log.events_visible(user)
        for fmt in ("jsonl", "csv"):
            assert new_bytes(events, fmt) == export_reference.export_bytes(events, fmt)
        narrowed[user.username] = {
            json.loads(line)["registered_model_id"]
            for line in new_bytes(events, "jsonl").splitlines()
        }
    assert narrowed["nora"] == {model.pk}
    assert narrowed["nick"] == {model.pk, None}


def test_an_inactive_or_anonymous_user_exports_nothing(auditor, dataset):
    auditor.is_active = False
    assert new_bytes(audit_log.events_visible(auditor), "jsonl") == b""
    header = new_bytes(audit_log.events_visible(auditor), "csv")
    assert header == export_reference.export_bytes(AuditEvent.objects.none(), "csv")
    assert header.count(b"\n") == 1


# --- The encoders on generated values (no database) ------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",)), max_size=6), children)
    ),
    max_leaves=12,
)


def plain_decimal_json(value) -> str:
    """The value as PostgreSQL's jsonb prints it back: numbers in plain decimal notation
    (1e-05 as 0.00001), ", " and ": " between items, keys in its own order."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, list):
        return "[" + ", ".join(plain_decimal_json(v) for v in value) + "]"
    items = sorted(value.items(), key=lambda kv: (len(kv[0].encode()), kv[0].encode()))
    return (
        "{"
        + ", ".join(
            f"{json.dumps(k, ensure_ascii=False)}: {plain_decimal_json(v)}" for k, v in items
        )
        + "}"
    )


def raw_row(before_text, after_text) -> tuple:
    values = dict.fromkeys(export_format.COLUMNS, "x")
    values |= {"id": 7, "occurred_at": "2026-03-01 12:00:00.000001", "actor_id": None}
    values |= {"before": before_text, "after": after_text, "context": "{}"}
    return tuple(values[c] for c in export_format.COLUMNS)


def reference_line(row) -> bytes:
    event = dict(zip(export_format.COLUMNS, row, strict=True))
    event["occurred_at"] = "2026-03-01T12:00:00.000001+00:00"
    for name in export_format.JSON_COLUMNS:
        event[name] = None if event[name] is None else json.loads(event[name])
    return (json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n").encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, other=json_values)
def test_generated_values_encode_as_the_standard_library_does(value, other):
    """Whatever JSON a column holds, as SQLite keeps it (json.dumps) or as jsonb prints it
    back, the fast path writes what json.dumps / canonical_json write."""
    for text in (json.dumps(value), plain_decimal_json(value)):
        expected = audit.canonical_json(json.loads(text))
        assert export_format._csv_json_cell(text) == expected
        rows = [raw_row(text, json.dumps(other)), raw_row(None, text), raw_row(text, text)]
        expected_lines = b"".join(reference_line(r) for r in rows)
        assert b"".join(export_format.jsonl_chunks([rows])) == expected_lines
