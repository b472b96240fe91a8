"""Full-text search over registered models: one interface, two engines.

The services keep `RegisteredModel.search_text` current; SQLite indexes it with an FTS5
external-content table (kept in sync by triggers), PostgreSQL with a GIN index over a
stored tsvector column (see search_index.py). Both match every word of the query as a
prefix.
"""

import json
import re
import unicodedata

from django.db import connection
from django.db.models.expressions import RawSQL

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERMS = 8


def fold(text: str) -> str:
    """Text without its accents ("café" → "cafe"), as it is stored and searched.

    FTS5 folds accents itself (remove_diacritics) and PostgreSQL's 'simple' configuration
    does not, so the search text is stored folded and the query folded the same way:
    both engines then index and look up the same words."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def query_terms(text: str) -> list[str]:
    return [t.lower() for t in _WORD.findall(fold(text or ""))][:MAX_TERMS]


MAX_SEARCH_TEXT = 20000
VERSION_SEARCH_FIELDS = ("framework", "dataset_name", "run_id", "code_repository")


def build_search_text(registered_model) -> str:
    """Everything a person might type to find this model, as one text, from the rows."""
    from registry.models import ModelVersion, VersionTag

    parts = [registered_model.name, registered_model.description, registered_model.team.name]
    if registered_model.created_by_id:
        parts.append(registered_model.created_by.get_username())
    parts += [f"{t.key} {t.value}" for t in registered_model.tags.all()]
    versions = ModelVersion.objects.filter(registered_model=registered_model)
    for field in VERSION_SEARCH_FIELDS:
        parts += versions.exclude(**{field: ""}).values_list(field, flat=True).distinct()[:50]
    tags = VersionTag.objects.filter(model_version__registered_model=registered_model)
    parts += [f"{k} {v}" for k, v in tags.values_list("key", "value").distinct()[:200]]
    return fold(" ".join(p for p in parts if p))[:MAX_SEARCH_TEXT]


def version_search_parts(version, tags: dict[str, str]) -> list[str]:
    """What one version adds to its model's search text: its lineage values and its tags."""
    parts = [getattr(version, field) for field in VERSION_SEARCH_FIELDS]
    return [p for p in parts if p] + [f"{k} {v}" for k, v in tags.items()]


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def appended_search_text(text: str, parts) -> str:
    """`text` with those of `parts` whose words it does not already hold added at its end.

    Search matches every query word as a prefix of some word of the text (both engines),
    so a part whose words are all in the text already changes no answer and is left out:
    the 100th version tagged like the 99 before it adds nothing."""
    have = _words(text)
    extra = []
    for part in parts:
        folded = fold(part or "")
        words = _words(folded)
        if words and not words <= have:
            extra.append(folded)
            have |= words
    if not extra:
        return text
    return " ".join([text, *extra]).strip()[:MAX_SEARCH_TEXT]


def search_text_refresh(
    registered_model, *, added=None, current_text: str | None = None, touch=False, **columns
) -> str:
    """Keep `registered_model.search_text` current: the one way every service does it,
    inside the write's transaction, as one UPDATE of the model's row.

    - `added`: the texts a write only added (a new version's lineage values and tags, a tag
      new on a version): their words are appended when the text lacks them, without
      reading the model's other versions (version_search_parts). `current_text` is the
      stored text when the caller read it under the row's lock; otherwise it is read here
      under that lock, so two writers cannot lose each other's words.
    - otherwise (anything renamed, changed or removed): rebuilt from the rows
      (build_search_text).

    `touch` sets updated_at, and `columns` other fields, in the same UPDATE; nothing is
    written when neither the text nor any column changes. Returns the text."""
    from django.utils import timezone

    from registry.models import RegisteredModel

    rows = RegisteredModel.objects.filter(pk=registered_model.pk)
    if added is None:
        text = build_search_text(registered_model)
        changed = True
    else:
        if current_text is None:
            current_text = rows.select_for_update().values_list("search_text", flat=True).get()
        text = appended_search_text(current_text, added)
        changed = text != current_text
    if changed:
        columns["search_text"] = text
    if touch:
        columns["updated_at"] = timezone.now()
    if columns:
        rows.update(**columns)
    registered_model.search_text = text
    for name, value in columns.items():
        setattr(registered_model, name, value)
    return text


def matching_ids_sql(terms: list[str]):
    """A RawSQL selecting ids of models whose search text matches every term."""
    if connection.vendor == "postgresql":
        return RawSQL(
            "SELECT id FROM registry_registeredmodel "
            "WHERE search_vector @@ to_tsquery('simple', %s)",
            [_tsquery(terms)],
        )
    return RawSQL(
        "SELECT rowid FROM registry_model_fts WHERE registry_model_fts MATCH %s",
        [_fts_query(terms)],
    )


def few_matching_ids(terms: list[str], limit: int) -> set[int] | None:
    """The ids of the matching models if there are at most `limit` of them, else None.

    One query that stops after limit + 1 rows. Neither planner can tell a rare word from a
    common one when it plans the list (SQLite assumes every IN list is short; PostgreSQL
    has no statistics for prefixes), so the caller uses this to pick the plan."""
    if connection.vendor == "postgresql":
        sql = (
            "SELECT id FROM registry_registeredmodel "
            "WHERE search_vector @@ to_tsquery('simple', %s) LIMIT %s"
        )
        params = [_tsquery(terms), limit + 1]
    else:
        sql = "SELECT rowid FROM registry_model_fts WHERE registry_model_fts MATCH %s LIMIT %s"
        params = [_fts_query(terms), limit + 1]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = {row[0] for row in cursor.fetchall()}
    return ids if len(ids) <= limit else None


# What PostgreSQL's planner expects a search to match (match_size).
DENSE = "dense"  # most of the table: test rows one by one on a page walked in sort order
LONG = "long"  # surely more than a short list: collect the matches into a hash


def match_size(terms: list[str], *, short: int, share: float = 0.3) -> str | None:
    """DENSE if PostgreSQL's planner expects more than `share` of all models to match,
    LONG if it expects well over `short` matches (four times), else None: few, or not
    known (other databases), for few_matching_ids() to find out. One EXPLAIN, no rows
    read; the planner keeps statistics of the tsvector's words and estimates prefixes
    from them.

    A dense list is cheaper to test row by row on a page walked in sort order (the page
    fills quickly) than to collect whole. A long one is collected into a hash, so the
    short-list probe would only read 500 matches to throw them away (a GIN bitmap of
    every match first). A wrong estimate costs time, never rows: every shape selects
    the same models.

    The EXPLAIN plans the matches and the whole table side by side (UNION ALL), so one
    round trip gives both estimates."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (FORMAT JSON) SELECT id FROM registry_registeredmodel "
            "WHERE search_vector @@ to_tsquery('simple', %s) "
            "UNION ALL SELECT id FROM registry_registeredmodel",
            [_tsquery(terms)],
        )
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    matches, everything = (p["Plan Rows"] for p in plan[0]["Plan"]["Plans"])
    if everything > 0 and matches > share * everything:
        return DENSE
    return LONG if matches > 4 * short else None


def _tsquery(terms: list[str]) -> str:
    return " & ".join(f"{t}:*" for t in terms)


def _fts_query(terms: list[str]) -> str:
    return " AND ".join(f'"{t}"*' for t in terms)
