"""One Attest server per upstream MLflow test, for benchmarks/mlflow_compat.py.

The harness rewrites the body of the upstream `client` / `mlflow_client` fixtures to
`with attest_server(tmp_path) as url: yield MlflowClient(url)`; nothing else in the
upstream tests changes. Each test gets a copy of a migrated SQLite template (built once per
harness run: a data scientist and a write token), its own gunicorn on a free port in
ATTEST_COMPAT_PORTS, and the token in MLFLOW_TRACKING_TOKEN. Tests that call the REST API
with `requests` directly get the same bearer token added for this server's URL only: Attest
answers nothing anonymously, and that is the deployment difference, not a test change.
"""

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(os.environ.get("ATTEST_COMPAT_ROOT", Path(__file__).resolve().parent.parent))
TEMPLATE = Path(os.environ.get("ATTEST_COMPAT_TEMPLATE", "/nonexistent"))
PORTS = os.environ.get("ATTEST_COMPAT_PORTS", "18400-18499")
SITE = os.environ.get("ATTEST_COMPAT_SITE", "")  # e.g. /tmp/wt_site for worktrees


def server_env(var_dir: Path) -> dict[str, str]:
    env = os.environ | {
        "ATTEST_VAR_DIR": str(var_dir),
        "DEBUG": "false",
        "SECRET_KEY": "compat-only-" + "0" * 40,
        "STATIC_MANIFEST": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(p for p in (SITE, str(ROOT)) if p),
    }
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    return env


def free_port() -> int:
    low, high = (int(p) for p in PORTS.split("-"))
    ports = list(range(low, high + 1))
    random.shuffle(ports)  # two harness runs at once rarely race for the same port
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


def wait_until_up(url: str, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Attest exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
                return
        except urllib.error.HTTPError:
            return  # up (401 without a token)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def _bearer_for(url: str, token: str):
    import requests

    original = requests.Session.request

    def request(self, method, target, *args, **kwargs):
        if str(target).startswith(url):
            headers = dict(kwargs.get("headers") or {})
            if not any(k.lower() == "authorization" for k in headers):
                headers["Authorization"] = f"Bearer {token}"
            kwargs["headers"] = headers
        return original(self, method, target, *args, **kwargs)

    requests.Session.request = request
    try:
        yield
    finally:
        requests.Session.request = original


@contextlib.contextmanager
def attest_server(tmp_path: Path):
    var_dir = Path(tmp_path) / "attest"
    (var_dir / "staticfiles").mkdir(parents=True, exist_ok=True)
    shutil.copy2(TEMPLATE / "attest.sqlite3", var_dir / "attest.sqlite3")
    token = (TEMPLATE / "token").read_text().strip()
    port = free_port()
    log = open(var_dir / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--threads",
            "4",
            "--timeout",
            "120",
        ],
        env=server_env(var_dir),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    saved = {
        k: os.environ.get(k) for k in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_HTTP_REQUEST_MAX_RETRIES")
    }
    try:
        wait_until_up(url + "/api/2.0/mlflow/experiments/search", proc)
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
        with _bearer_for(url, token):
            yield url
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGQUIT)  # gunicorn: quick shutdown
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        keep = os.environ.get("ATTEST_COMPAT_LOGS")
        if keep:
            test = os.environ.get("PYTEST_CURRENT_TEST", "unknown").split(" ")[0]
            dest = Path(keep) / (test.split("::")[-1] + ".log")
            shutil.copy2(var_dir / "server.log", dest)


def pytest_configure(config):
    """Loaded with `-p mlflow_compat_server` for both servers: the upstream module marks a few
    (non-core) tests `asyncio`, a plugin the project's venv does not have."""
    config.addinivalue_line("markers", "asyncio: upstream async tests (not run here)")
