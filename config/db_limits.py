"""A ceiling on how long one database statement may run (PostgreSQL).

Web processes: every connection starts with `-c statement_timeout=DB_STATEMENT_TIMEOUT_MS`
(default 30 s; 0 switches it off), set in the connection options by config/settings.py, so a
hostile or unlucky request cannot hold a database backend and a web worker for minutes.

Long-running processes (Celery workers generating reports and exports, management commands
such as migrate, verify_audit or reseal_secrets) call `use_long_statement_timeout()` at start
(config/celery.py, manage.py): each of their connections then runs
`SET statement_timeout = DB_LONG_STATEMENT_TIMEOUT_MS` (default 0, no limit) when it opens.

A statement cancelled by the timeout reaches the client as a clean 503 (the API's
TEMPORARILY_UNAVAILABLE, a short page elsewhere), never a traceback. SQLite has no
statement timeout; there the settings do nothing."""

from django.db import connections
from django.db.backends.signals import connection_created
from django.http import HttpResponse

QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by the timeout

_long_running = False

TIMEOUT_MESSAGE = (
    "The request's database work took longer than this server allows "
    "(DB_STATEMENT_TIMEOUT_MS); try a narrower request."
)


def statement_timeout_options(options: dict, milliseconds: int) -> dict:
    """OPTIONS with `-c statement_timeout=...` added to libpq's `options`, keeping whatever
    was there (DATABASE_URL's ?options=, the test settings' own -c flags)."""
    options = dict(options or {})
    if milliseconds and milliseconds > 0:
        flag = f"-c statement_timeout={int(milliseconds)}"
        options["options"] = f"{options.get('options', '')} {flag}".strip()
    return options


def use_long_statement_timeout() -> None:
    """For this process from now on: connections get DB_LONG_STATEMENT_TIMEOUT_MS."""
    global _long_running
    _long_running = True
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _apply(connection)


def _apply(connection) -> None:
    from django.conf import settings

    if connection.vendor != "postgresql":
        return
    milliseconds = int(getattr(settings, "DB_LONG_STATEMENT_TIMEOUT_MS", 0) or 0)
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {max(milliseconds, 0)}")


def _on_connection_created(sender, connection, **kwargs) -> None:
    if _long_running:
        _apply(connection)


connection_created.connect(_on_connection_created, dispatch_uid="attest-long-statement-timeout")


def is_statement_timeout(exc: BaseException) -> bool:
    """Whether exc (a Django DatabaseError) is PostgreSQL cancelling a statement for taking
    longer than statement_timeout."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
        if code == QUERY_CANCELED:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class StatementTimeoutMiddleware:
    """A request whose statement hit the timeout answers 503 with a short explanation."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_statement_timeout(exception):
            return None
        response = HttpResponse(TIMEOUT_MESSAGE, status=503, content_type="text/plain")
        response["Retry-After"] = "30"
        return response
