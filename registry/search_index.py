"""Creates the database-specific full-text index over RegisteredModel.search_text.

Called by a migration and again after every migrate: on SQLite, Django rebuilds a table
to alter it, which drops its triggers, so they are re-created (and the index rebuilt)
whenever they are missing.
"""

SQLITE_TRIGGERS = {
    "registry_model_fts_ai": """
        CREATE TRIGGER registry_model_fts_ai AFTER INSERT ON registry_registeredmodel BEGIN
            INSERT INTO registry_model_fts(rowid, search_text) VALUES (new.id, new.search_text);
        END""",
    "registry_model_fts_ad": """
        CREATE TRIGGER registry_model_fts_ad AFTER DELETE ON registry_registeredmodel BEGIN
            INSERT INTO registry_model_fts(registry_model_fts, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
        END""",
    "registry_model_fts_au": """
        CREATE TRIGGER registry_model_fts_au AFTER UPDATE OF search_text
        ON registry_registeredmodel BEGIN
            INSERT INTO registry_model_fts(registry_model_fts, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
            INSERT INTO registry_model_fts(rowid, search_text) VALUES (new.id, new.search_text);
        END""",
}

# The tsvector is a stored generated column, not an expression index alone: a plan that
# tests rows one by one (a page walked in updated_at order, a semi-join) would otherwise
# parse each row's search text again, about 40 microseconds a row. Django does not know
# the column; PostgreSQL fills it on every insert and update of search_text.
#
# Punctuation becomes spaces first. PostgreSQL's parser would otherwise keep a URL, an
# e-mail address, a file path, a host name or a version number ("git.example.com/risk",
# "s3://bucket/train.parquet", "1.4.2") as one word, so "bucket" or "example" would find
# nothing, where FTS5 (unicode61) splits them into words as query_terms() does.
SEARCH_VECTOR_SQL = "to_tsvector('simple', regexp_replace(search_text, '[[:punct:]]+', ' ', 'g'))"
POSTGRES_STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "ALTER TABLE registry_registeredmodel ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS ({SEARCH_VECTOR_SQL}) STORED",
    "DROP INDEX IF EXISTS registry_model_search_gin",  # the earlier expression index
    "CREATE INDEX IF NOT EXISTS registry_model_search_vector ON registry_registeredmodel "
    "USING GIN (search_vector)",
    "CREATE INDEX IF NOT EXISTS registry_model_name_trgm ON registry_registeredmodel "
    "USING GIN (name gin_trgm_ops)",
]


def ensure_search_index(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS registry_model_fts USING fts5("
                "search_text, content='registry_registeredmodel', content_rowid='id', "
                "tokenize='unicode61 remove_diacritics 2')"
            )
            cursor.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
            existing = {row[0] for row in cursor.fetchall()}
            missing = [name for name in SQLITE_TRIGGERS if name not in existing]
            for name in missing:
                cursor.execute(SQLITE_TRIGGERS[name])
            if missing:
                cursor.execute(
                    "INSERT INTO registry_model_fts(registry_model_fts) VALUES('rebuild')"
                )
        elif connection.vendor == "postgresql":
            for statement in POSTGRES_STATEMENTS:
                cursor.execute(statement)


def rebuild_search_vector(connection) -> None:
    """PostgreSQL: the search vector again, with the current SEARCH_VECTOR_SQL (a generated
    column's expression cannot be altered before PostgreSQL 17; one table rewrite)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS registry_model_search_vector")
        cursor.execute("ALTER TABLE registry_registeredmodel DROP COLUMN IF EXISTS search_vector")
    ensure_search_index(connection)


def drop_search_index(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute("DROP TABLE IF EXISTS registry_model_fts")
        elif connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS registry_model_search_gin")
            cursor.execute("DROP INDEX IF EXISTS registry_model_search_vector")
            cursor.execute("DROP INDEX IF EXISTS registry_model_name_trgm")
            cursor.execute(
                "ALTER TABLE registry_registeredmodel DROP COLUMN IF EXISTS search_vector"
            )
