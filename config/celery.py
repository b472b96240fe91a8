"""Celery application. On the embedded default tasks run in process (eager)."""

import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("attest")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@worker_process_init.connect
def _long_statements(**kwargs):
    """Workers run reports and exports: DB_LONG_STATEMENT_TIMEOUT_MS, not the web's limit."""
    from config.db_limits import use_long_statement_timeout

    use_long_statement_timeout()
