"""/healthz for load balancers: is the database, the broker and the storage reachable?"""

import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in process"
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_storage():
    default_storage.exists("healthz-probe")  # a cheap request that needs credentials


CHECKS = {"database": _check_database, "broker": _check_broker, "storage": _check_storage}


@login_not_required
@never_cache
@require_GET
def healthz(request):
    results, healthy = {}, True
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            detail = check() or "ok"
        except Exception as exc:  # a health check reports, it never raises
            detail, healthy = f"error: {type(exc).__name__}", False
        results[name] = {"status": detail, "ms": round((time.monotonic() - started) * 1000, 1)}
    return JsonResponse({"healthy": healthy, "checks": results}, status=200 if healthy else 503)
