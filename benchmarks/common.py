"""Shared set-up for the benchmark scripts: Django against a separate benchmark database.

The scripts run as `python benchmarks/<script>.py`. They use the real settings module
(config.settings) with a separate var dir (var/bench) so the demo database is never
touched; DATABASE_URL, if set, points them at PostgreSQL instead. DEBUG stays off, as in
production, so no query log builds up and templates render without debug hooks.
"""

import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_PREFIX = "bench_"  # every benchmark account's username starts with this
SEED_ACTION = "benchmark.seed"
DS_USERNAME = "bench_ds"
ADMIN_USERNAME = "bench_admin"
AUDITOR_USERNAME = "bench_auditor"


def django_setup() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("ATTEST_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "false")
    # A throwaway key for this process only: benchmark sessions never outlive it.
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
    os.environ.setdefault("STATIC_MANIFEST", "false")  # no collectstatic needed
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    Path(os.environ["ATTEST_VAR_DIR"]).mkdir(parents=True, exist_ok=True)

    import django

    django.setup()

    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns otherwise


def describe_database() -> str:
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version} at {settings_dict['NAME']}"
    return f"{connection.vendor} database {settings_dict['NAME']!r} on {settings_dict['HOST']}"
