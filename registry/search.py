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


def build_search_text(registered_model) -> str:
    """Everything a person might type to find this model, as one text."""
    from registry.models import ModelVersion, VersionTag

    parts = [registered_model.name, registered_model.description, registered_model.team.name]
    if registered_model.created_by_id:
        parts.append(registered_model.created_by.get_username())
    parts += [f"{t.key} {t.value}" for t in registered_model.tags.all()]
    versions = ModelVersion.objects.filter(registered_model=registered_model)
    for field in ("framework", "dataset_name", "run_id", "code_repository"):
        parts += versions.exclude(**{field: ""}).values_list(field, flat=True).distinct()[:50]
    tags = VersionTag.objects.filter(model_version__registered_model=registered_model)
    parts += [f"{k} {v}" for k, v in tags.values_list("key", "value").distinct()[:200]]
    return fold(" ".join(p for p in parts if p))[:20000]


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
