"""Issue 14, hostile input: one request's database work cannot hold a backend for minutes.

PostgreSQL only (SQLite has no statement timeout): skipped, loudly, on SQLite."""

import time

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.backends.postgresql.base import DatabaseWrapper
from django.test import RequestFactory

from config import db_limits
from config.db_limits import statement_timeout_options
from mlflow_api.errors import response_for


def test_options_are_combined_not_clobbered():
    assert statement_timeout_options({}, 30000) == {"options": "-c statement_timeout=30000"}
    assert statement_timeout_options({"options": "-c a.b=on", "sslmode": "require"}, 500) == {
        "options": "-c a.b=on -c statement_timeout=500",
        "sslmode": "require",
    }
    assert statement_timeout_options({"sslmode": "require"}, 0) == {"sslmode": "require"}


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL only (statement_timeout): run with DATABASE_URL=postgres://... (CI does)"
        )
    return connection


def _connection(timeout_ms):
    """A second connection to the test database, opened with the settings' options built
    for `timeout_ms`."""
    params = dict(connection.settings_dict)
    base = dict(params.get("OPTIONS", {}))
    base["options"] = " ".join(
        flag
        for flag in base.get("options", "").split(" -c ")
        if "statement_timeout" not in flag and flag
    )
    if base["options"] and not base["options"].startswith("-c"):
        base["options"] = "-c " + base["options"]
    params["OPTIONS"] = statement_timeout_options(base, timeout_ms)
    return DatabaseWrapper(params, alias="timeout-test")


def test_every_connection_carries_the_configured_timeout(postgres, settings):
    options = postgres.settings_dict["OPTIONS"]["options"]
    assert f"-c statement_timeout={settings.DB_STATEMENT_TIMEOUT_MS}" in options
    assert "attest.allow_audit_truncate=on" in options  # the test settings' flag survives
    with postgres.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == f"{settings.DB_STATEMENT_TIMEOUT_MS // 1000}s"


def test_a_statement_beyond_the_limit_is_cancelled_with_a_clean_error(postgres):
    other = _connection(200)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseError) as caught, other.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 2
        assert db_limits.is_statement_timeout(caught.value)
        response = response_for(caught.value)
        assert response.status_code == 503
        assert b"TEMPORARILY_UNAVAILABLE" in response.content
        page = db_limits.StatementTimeoutMiddleware(lambda r: None).process_exception(
            RequestFactory().get("/"), caught.value
        )
        assert page.status_code == 503 and b"DB_STATEMENT_TIMEOUT_MS" in page.content
    finally:
        other.close()


def test_a_request_that_hits_the_limit_answers_503(postgres, client, scientist, model, monkeypatch):
    """End to end: the API's search runs into the timeout (lowered for this transaction)."""
    from registry import selectors

    original = selectors.models_visible

    def slow(user):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 100")
        return original(user).extra(where=["pg_sleep(1) IS NOT NULL"])

    monkeypatch.setattr(selectors, "models_visible", slow)
    client.force_login(scientist)
    with transaction.atomic():
        sid = transaction.savepoint()
        response = client.get("/api/2.0/mlflow/registered-models/search")
        transaction.savepoint_rollback(sid)
    assert response.status_code == 503
    assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"


def test_workers_and_commands_get_the_long_limit(postgres, settings, monkeypatch):
    settings.DB_LONG_STATEMENT_TIMEOUT_MS = 0
    monkeypatch.setattr(db_limits, "_long_running", False)
    other = _connection(200)
    try:
        db_limits.use_long_statement_timeout()  # what config/celery.py and manage.py call
        with other.cursor() as cursor:  # opens: connection_created applies the long limit
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"
            cursor.execute("SELECT pg_sleep(0.4)")  # beyond the web's 200 ms here
    finally:
        other.close()
    with postgres.cursor() as cursor:  # already open connections are lifted too
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
        cursor.execute(f"SET statement_timeout = {settings.DB_STATEMENT_TIMEOUT_MS}")


def test_celery_workers_and_manage_py_ask_for_the_long_limit(monkeypatch):
    """The wiring on every engine: a worker process start and a manage.py command (other
    than the web ones) switch this process to DB_LONG_STATEMENT_TIMEOUT_MS."""
    from celery.signals import worker_init, worker_process_init

    import manage

    for signal in (worker_init, worker_process_init):
        monkeypatch.setattr(db_limits, "_long_running", False)
        signal.send(sender=None)
        assert db_limits._long_running
    calls = []
    monkeypatch.setattr("django.core.management.execute_from_command_line", lambda argv: None)
    monkeypatch.setattr(db_limits, "use_long_statement_timeout", lambda: calls.append(1))
    for argv, expected in ((["manage.py", "migrate"], 1), (["manage.py", "runserver"], 0)):
        calls.clear()
        monkeypatch.setattr("sys.argv", argv)
        manage.main()
        assert len(calls) == expected, argv
