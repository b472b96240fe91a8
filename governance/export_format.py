"""The audit exports' rows, read and encoded fast, byte for byte as the model-based code wrote them.

governance/exports.py describes the two formats. Until issue #17 they were written from
model instances (`AuditEvent` objects, `audit.event_payload`, `json.dumps`, `csv.writer`),
at 15,000 to 20,000 rows a second. This module writes the same bytes from raw database
rows at about twice that rate (docs/performance.md), in the same constant memory:

- Reading: each batch is one keyset query (`id > last id ORDER BY id LIMIT n`) compiled
  from the caller's queryset, so the permission filter (`audit_log.events_visible`), the
  log's filters and the cut-off are exactly the queryset's. It runs on a plain database
  cursor: no model instances, no per-field converters. The columns arrive as the
  database returns them: the JSON columns as their text (Django registers a text loader
  for jsonb on psycopg 3; SQLite stores text), `occurred_at` as text on SQLite (selected
  through a CAST so sqlite3 does not parse it) and as a UTC datetime on PostgreSQL.
- Timestamps: Django stores a SQLite datetime as `str()` of the naive UTC value
  ("2026-01-02 03:04:05[.678901]"), so "T" for the space and "+00:00" appended is
  `isoformat()` of the aware value. Any other text is parsed as Django would parse it.
- JSON: decoded with orjson and encoded with orjson (keys sorted). orjson writes what
  `json.dumps` writes (same key order, same string escapes, no ASCII escaping, the same
  digits for every float Python prints without an exponent) except for floats Python
  prints with an exponent (below 1e-4 or from 1e16: orjson writes "1e-5", Python
  "1e-05"), integers beyond 64 bits (orjson reads them as floats) and NaN/Infinity (which
  orjson refuses). So a JSON text holding a number that could be one of those
  (`_RISKY_NUMBER`: an exponent, a leading "0.0000", 16 or more integer digits) is
  decoded and encoded with the standard library instead, as before; so is anything
  orjson refuses. tests/governance/test_export_format.py compares both encoders on
  generated values, and the whole files with the old code.
- JSON Lines separators: the old lines use json.dumps's default ", " and ": ", which
  orjson has no option for. orjson's indented output does use ": ", and a newline in it
  is always structure (strings escape theirs), so a batch is encoded indented as one list
  and its newlines and indents are taken out again: ",\\n<indent>" becomes ", ", any
  other "\\n<indent>" disappears, and the top-level "\\n  },\\n  {" between two rows
  becomes "}\\n{" (through a NUL byte, which orjson never writes raw).
- CSV: the same `csv.writer` (excel dialect) over the rows of a batch at once.
"""

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC

import orjson
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from governance import audit

COLUMNS = ("id", *audit.HASHED_FIELDS, "hash")
JSON_COLUMNS = ("before", "after", "context")
_OCCURRED = COLUMNS.index("occurred_at")
_JSON_INDEXES = tuple(COLUMNS.index(c) for c in JSON_COLUMNS)
_SQLITE_OCCURRED_TEXT = "export_occurred_at_text"

# A JSON number orjson might write differently from json.dumps (see the docstring). In a
# text searched as "[" + text, a number is always preceded by "[", ":" or ",", so no
# number escapes this; the same characters inside a string only send that text the slow
# way. (Starting with the character class lets the regex engine skip to those characters.)
_RISKY_NUMBER = re.compile(r"[\[:,]\s*-?(?:\d{16}|0\.0000|\d+(?:\.\d*)?[eE])")
_SORTED = orjson.OPT_SORT_KEYS
_INDENTED = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2
_ITEM_BREAK = re.compile(rb",\n +")
_LINE_BREAK = re.compile(rb"\n +")
_ROW_BREAK = b"\n  },\n  {"


class _Slow(Exception):
    """This value must go through the standard library to keep its bytes."""


# --- Reading --------------------------------------------------------------------------------


def iter_row_batches(queryset, *, batch_size: int) -> Iterator[list[tuple]]:
    """The queryset's events as raw rows (COLUMNS order, `id` first), in id order, one
    keyset batch at a time: each batch is a fresh query from the last id seen, so no
    cursor is held between batches and no batch is kept once the next one is read."""
    connection = connections[queryset.db]
    names = list(COLUMNS)
    if connection.vendor == "sqlite":
        queryset = queryset.annotate(**{_SQLITE_OCCURRED_TEXT: Cast("occurred_at", TextField())})
        names[_OCCURRED] = _SQLITE_OCCURRED_TEXT
    last_id = 0
    while True:
        page = queryset.filter(id__gt=last_id).order_by("id").values_list(*names)[:batch_size]
        try:
            sql, params = page.query.get_compiler(using=queryset.db).as_sql()
        except EmptyResultSet:  # .none(): a user who may read nothing
            return
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        last_id = rows[-1][0]


# --- Values -----------------------------------------------------------------------------------


def _utc_text_is_iso() -> bool:
    """Whether SQLite's stored text is naive UTC (Django's default: USE_TZ, no TIME_ZONE
    for the database)."""
    return settings.USE_TZ and connections["default"].settings_dict.get("TIME_ZONE") in (
        None,
        "UTC",
    )


def occurred_at_text(value, *, naive_utc: bool = True) -> str:
    """`audit.event_payload`'s "occurred_at" from the database's value."""
    if isinstance(value, str):
        if naive_utc and len(value) in (19, 26) and value[10] == " ":
            return f"{value[:10]}T{value[11:]}+00:00"
        parsed = parse_datetime(value)
        if settings.USE_TZ and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, connections["default"].timezone)
        value = parsed
    return value.astimezone(UTC).isoformat()


def _fast_json(text):
    """The JSON column's value through orjson, or _Slow when orjson could differ."""
    if text is None:
        return None
    if not isinstance(text, str) or _RISKY_NUMBER.search(f"[{text}"):
        raise _Slow
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _Slow from None


def _std_json(value):
    return json.loads(value) if isinstance(value, str) else value


def _batch_json(rows) -> list | None:
    """Every JSON cell of the batch (before, after, context of each row, in that order)
    decoded by one orjson call, or None when any of them must go the slow way: the texts
    are joined as one JSON list, whose "," and "[" also let _RISKY_NUMBER see a number
    that is a whole text."""
    before, after, context = _JSON_INDEXES
    texts = []
    for row in rows:
        for text in (row[before], row[after], row[context]):
            if text is None:
                texts.append("null")
            elif isinstance(text, str):
                texts.append(text)
            else:
                return None
    joined = f"[{','.join(texts)}]"
    if _RISKY_NUMBER.search(joined):
        return None
    try:
        return orjson.loads(joined)
    except orjson.JSONDecodeError:
        return None


def _payload(row, timestamp, decode) -> dict:
    """The row as the dict the old code built (tests/governance/export_reference.py,
    `export_row`); its keys in any order, as both encoders sort them."""
    event = dict(zip(COLUMNS, row, strict=True))
    event["occurred_at"] = timestamp
    for name in JSON_COLUMNS:
        event[name] = decode(event[name])
    return event


def _payloads(rows, naive_utc: bool) -> list[dict] | None:
    """_payload for each row, faster, when _batch_json can decode the whole batch."""
    values = _batch_json(rows)
    if values is None:
        return None
    json_values = iter(values)
    return [
        {
            "id": row[0],
            "occurred_at": occurred_at_text(row[1], naive_utc=naive_utc),
            "actor_id": row[2],
            "actor_username": row[3],
            "action": row[4],
            "target_type": row[5],
            "target_id": row[6],
            "target_repr": row[7],
            "registered_model_id": row[8],
            "model_version_id": row[9],
            "before": next(json_values),
            "after": next(json_values),
            "context": next(json_values),
            "request_id": row[13],
            "client_ip": row[14],
            "source": row[15],
            "prev_hash": row[16],
            "hash": row[17],
        }
        for row in rows
    ]


# --- JSON Lines ------------------------------------------------------------------------------


def _std_jsonl(events: list[dict]) -> bytes:
    return "".join(
        json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in events
    ).encode()


def _fast_jsonl(events: list[dict]) -> bytes:
    """json.dumps(e, sort_keys=True, ensure_ascii=False) + "\\n" for each event, from one
    orjson call (see the module docstring)."""
    if not events:
        return b""
    try:
        text = orjson.dumps(events, option=_INDENTED)
    except orjson.JSONEncodeError:
        return _std_jsonl(events)
    text = text.replace(_ROW_BREAK, b"}\0{").replace(b",\n", b", \n")
    text = _LINE_BREAK.sub(b"", text)
    # Now b'[{...}\0{...}\n]': drop the brackets, one row a line.
    return text[1:-2].replace(b"\0", b"\n") + b"\n"


def _jsonl_by_row(rows, naive_utc: bool) -> bytes:
    """A batch holding a value orjson could write differently: row by row, each through
    orjson if it can, the standard library otherwise."""
    parts, fast, slow = [], [], []
    for row in rows:
        timestamp = occurred_at_text(row[_OCCURRED], naive_utc=naive_utc)
        try:
            event = _payload(row, timestamp, _fast_json)
        except _Slow:
            if fast:
                parts.append(_fast_jsonl(fast))
                fast = []
            slow.append(_payload(row, timestamp, _std_json))
            continue
        if slow:
            parts.append(_std_jsonl(slow))
            slow = []
        fast.append(event)
    parts.append(_fast_jsonl(fast) if fast else _std_jsonl(slow))
    return b"".join(parts)


def jsonl_chunks(batches: Iterable[list[tuple]]) -> Iterator[bytes]:
    naive_utc = _utc_text_is_iso()
    for rows in batches:
        events = _payloads(rows, naive_utc)
        yield _fast_jsonl(events) if events is not None else _jsonl_by_row(rows, naive_utc)


# --- CSV ----------------------------------------------------------------------------------------


def _csv_json_cell(text) -> str:
    """audit.canonical_json of the column's value (null for SQL NULL, as before)."""
    try:
        value = _fast_json(text)
        return orjson.dumps(value, option=_SORTED).decode()
    except (_Slow, orjson.JSONEncodeError):
        return audit.canonical_json(_std_json(text))


def csv_chunks(batches: Iterable[list[tuple]]) -> Iterator[bytes]:
    """The header, then each batch's rows. A NULL cell is empty (csv.writer writes None
    as ""), a JSON cell is canonical JSON."""
    naive_utc = _utc_text_is_iso()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue().encode()
    before, after, context = _JSON_INDEXES
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        values = _batch_json(rows)
        if values is None:
            cells = [
                (_csv_json_cell(r[before]), _csv_json_cell(r[after]), _csv_json_cell(r[context]))
                for r in rows
            ]
        else:
            try:
                encoded = [orjson.dumps(v, option=_SORTED).decode() for v in values]
            except orjson.JSONEncodeError:
                encoded = [audit.canonical_json(v) for v in values]
            cells = zip(encoded[0::3], encoded[1::3], encoded[2::3], strict=True)
        writer.writerows(
            (
                *row[:_OCCURRED],
                occurred_at_text(row[_OCCURRED], naive_utc=naive_utc),
                *row[_OCCURRED + 1 : before],
                *json_cells,
                *row[context + 1 :],
            )
            for row, json_cells in zip(rows, cells, strict=True)
        )
        yield buffer.getvalue().encode()
