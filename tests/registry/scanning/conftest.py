"""The scan tests run the scan job in this process (Celery eager) and upload as the model's
owner.
"""

import pytest

from tests.conftest import client_for


@pytest.fixture
def scans_in_process(monkeypatch):
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)


@pytest.fixture
def client(scientist):
    return client_for(scientist)
