"""Drive the real, unmodified mlflow client against a live Attest server."""

import numpy as np
import pytest
from django.core.servers.basehttp import WSGIServer

from governance.models import PersonalToken
from governance.services.tokens import token_create

mlflow = pytest.importorskip("mlflow")


class SerialWSGIServer(WSGIServer):
    """Serves one request at a time. The in-memory SQLite test database is a single shared
    connection, and the client downloads files in parallel; a real deployment (file SQLite
    or PostgreSQL) gives each request its own connection instead."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, serving requests one at a time (see above)."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("localhost:0", start=False)
    server.thread.server_class = SerialWSGIServer
    server.start()
    yield server
    server.stop()


@pytest.fixture
def token_for():
    def make(user, scope=PersonalToken.Scope.WRITE, name="pipeline"):
        return token_create(actor=user, name=name, scope=scope)[1]

    return make


@pytest.fixture
def mlflow_as(live_server, monkeypatch, token_for):
    """Point the mlflow client at the live server with `user`'s token; returns a client."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", live_server.url)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", live_server.url)
    mlflow.set_tracking_uri(live_server.url)
    mlflow.set_registry_uri(live_server.url)

    def as_user(user, scope=PersonalToken.Scope.WRITE, *, basic=False):
        raw = token_for(user, scope)
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
        monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
        monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
        if basic:
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user.get_username())
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", raw)
        else:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", raw)
        return mlflow.MlflowClient(tracking_uri=live_server.url, registry_uri=live_server.url)

    yield as_user
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture(scope="session")
def sk_model():
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    y = np.array([0, 1, 1, 0])
    return LogisticRegression().fit(x, y), x


def log_and_register(
    model, name="fraud-detector", *, params=None, metrics=None, infer_requirements=False, **kwargs
):
    """The training pipeline's code, as teams write it against MLflow."""
    import mlflow.sklearn

    with mlflow.start_run() as run:
        for key, value in (params or {"C": 1.0}).items():
            mlflow.log_param(key, value)
        for key, value in (metrics or {"auc": 0.91}).items():
            mlflow.log_metric(key, value)
        if not infer_requirements:
            # The client infers requirements by loading the model in a subprocess (about
            # 20-60 s); one test does it, the rest name them to stay quick.
            kwargs.setdefault("pip_requirements", ["scikit-learn"])
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name, **kwargs)
    return run, info
