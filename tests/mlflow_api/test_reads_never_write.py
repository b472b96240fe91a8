"""No writes from GET (issue 16): the tracking endpoints that read, on an empty database,
leave every table as it was. (The Default experiment exists for a read as an unsaved
stand-in; the first write into it creates its row, audited.)"""

import pytest
from django.apps import apps

from governance.models import AuditEvent
from governance.services.tokens import token_create
from registry.models import Experiment

pytestmark = pytest.mark.django_db

P = "/api/2.0/mlflow/"
READS = [
    ("get", "experiments/get", {"experiment_id": "0"}),
    ("get", "experiments/get-by-name", {"experiment_name": "Default"}),
    ("get", "experiments/search", {}),
    ("post", "experiments/search", {}),  # a search: POST carries the query
    ("post", "experiments/search", {"filter": "name = 'Default'"}),
    ("post", "runs/search", {"experiment_ids": ["0"]}),
    ("get", "logged-models/search", {}),
]


def _rows() -> dict[str, int]:
    """How many rows each table holds (every model of every installed app)."""
    return {m._meta.label: m._base_manager.count() for m in apps.get_models() if m._meta.managed}


def _call(client, raw, method, path, data):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    if method == "get":
        return client.get(P + path, data, **auth)
    return client.post(P + path, data, content_type="application/json", **auth)


@pytest.mark.parametrize("scope", ["read", "write"])
def test_reading_experiments_on_an_empty_database_writes_nothing(client, scientist, scope):
    raw = token_create(actor=scientist, name="pipeline", scope=scope)[1]
    _call(client, raw, "get", "experiments/search", {})  # the token's first use, noted once
    before, events = _rows(), AuditEvent.objects.count()
    assert before["registry.Experiment"] == 0
    for method, path, data in READS:
        response = _call(client, raw, method, path, data)
        assert response.status_code in (200, 404), (path, response.content)
    assert _rows() == before and AuditEvent.objects.count() == events
    assert not Experiment.objects.exists()
