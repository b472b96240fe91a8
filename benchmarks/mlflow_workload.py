#!/usr/bin/env python
"""The same MLflow client workload against Attest and against `mlflow server`.

    .venv/bin/python benchmarks/mlflow_workload.py                 # 1,000 versions
    .venv/bin/python benchmarks/mlflow_workload.py --versions 200 --workers 2

Starts both servers side by side on loopback, each with a fresh SQLite database and the
same number of worker processes: Attest under gunicorn (DEBUG off, its production
settings), MLflow as `mlflow server --backend-store-uri sqlite:///...`. Then one unmodified
MlflowClient per server runs the workload: create a model, create N versions with tags,
get the model and versions, set version tags, set an alias and resolve it, and search
(by name, by tag, by source path, and registered models). Every call is timed on the client
(wall clock, including HTTP on loopback); the script prints the median and p95 per call
for each server and the ratio Attest/MLflow (below 1.0: Attest is faster).

Attest does more per write than MLflow (permission checks, one hash-chained audit event,
search text, webhooks lookup), and still answers through the same restrict() as the UI.
`mlflow` is a dev/benchmark dependency only (pinned in pyproject.toml).
"""

import argparse
import contextlib
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BIN = Path(PY).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: see its log")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
                return
        except urllib.error.HTTPError:
            return  # up, just answering an error (401 without a token)
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def start_attest(tmp: Path, workers: int):
    env = os.environ | {
        "ATTEST_VAR_DIR": str(tmp / "attest"),
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + os.urandom(8).hex(),
        "STATIC_MANIFEST": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    (tmp / "attest").mkdir()
    (tmp / "attest" / "staticfiles").mkdir()
    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    setup = (
        "from django.contrib.auth.models import Group, User\n"
        "u = User.objects.create_user('bench_mlflow', 'b@example.com', 'x')\n"
        "for g in ('Data scientists', 'Benchmark team'):\n"
        "    u.groups.add(Group.objects.get_or_create(name=g)[0])\n"
    )
    subprocess.run(
        [*manage, "shell", "-c", setup], env=env, check=True, cwd=ROOT, capture_output=True
    )
    token = subprocess.run(
        [*manage, "create_api_token", "bench_mlflow", "--name", "benchmark"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    log = open(tmp / "attest.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--access-logfile",
            "-",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, stopped as a whole
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/api/2.0/mlflow/registered-models/search", proc)
    return proc, url, token


def start_mlflow(tmp: Path, workers: int):
    port = free_port()
    (tmp / "mlflow").mkdir()
    log = open(tmp / "mlflow.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp / 'mlflow' / 'mlflow.db'}",
            "--artifacts-destination",
            str(tmp / "mlflow" / "artifacts"),
            "--workers",
            str(workers),
        ],
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, stopped as a whole
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/health", proc, timeout=180)
    return proc, url, None


def run_workload(url: str, token: str | None, versions: int) -> dict[str, list[float]]:
    from mlflow import MlflowClient

    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    else:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    times: dict[str, list[float]] = {}

    def timed(name, fn, *args, **kwargs):
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return result

    name = "bench-model"
    timed("create_registered_model", client.create_registered_model, name, tags={"team": "b"})
    for i in range(versions):
        timed(
            "create_model_version",
            client.create_model_version,
            name,
            source=f"s3://bench-bucket/models/{i}",
            tags={"batch": str(i % 10), "purpose": "benchmark"},
        )
    samples = min(200, versions)
    for i in range(samples):
        number = str(1 + (i * 7919) % versions)
        timed("get_registered_model", client.get_registered_model, name)
        timed("get_model_version", client.get_model_version, name, number)
        timed("set_model_version_tag", client.set_model_version_tag, name, number, "seen", str(i))
    for i in range(min(50, versions)):
        number = str(1 + (i * 31) % versions)
        timed(
            "set_registered_model_alias", client.set_registered_model_alias, name, "bench", number
        )
        timed("get_model_version_by_alias", client.get_model_version_by_alias, name, "bench")
    for i in range(20):
        timed(
            "search_model_versions(name, 100)",
            client.search_model_versions,
            f"name = '{name}'",
            max_results=100,
        )
        timed(
            "search_model_versions(tag)",
            client.search_model_versions,
            f"name = '{name}' AND tags.batch = '{i % 10}'",
            max_results=200,
        )
        timed(
            "search_model_versions(source_path)",
            client.search_model_versions,
            f"source_path = 's3://bench-bucket/models/{(i * 37) % versions}'",
        )
        timed("search_registered_models", client.search_registered_models, "name LIKE 'bench%'")
    return times


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered), p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on kill, too
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # one INFO line per version
    tmp = Path(tempfile.mkdtemp(prefix="attest-mlflow-bench-"))
    procs = []
    try:
        attest = start_attest(tmp, args.workers)
        procs.append(attest[0])
        mlflow_srv = start_mlflow(tmp, args.workers)
        procs.append(mlflow_srv[0])
        import mlflow

        print(
            f"mlflow client {mlflow.__version__}; {args.versions} versions; "
            f"{args.workers} workers each; SQLite for both; loopback"
        )
        results = {}
        for label, (_proc, url, token) in (("mlflow", mlflow_srv), ("attest", attest)):
            started = time.perf_counter()
            results[label] = run_workload(url, token, args.versions)
            print(f"{label}: workload took {time.perf_counter() - started:.1f} s")
        header = (
            f"{'call':36} {'n':>5} {'MLflow p50':>11} {'p95':>8} {'Attest p50':>11} "
            f"{'p95':>8} {'ratio':>6}"
        )
        print()
        print(header)
        print("-" * len(header))
        slower = []
        for call, values in results["mlflow"].items():
            m50, m95 = summary(values)
            a50, a95 = summary(results["attest"][call])
            ratio = a50 / m50
            if ratio >= 1:
                slower.append(call)
            print(
                f"{call:36} {len(values):5d} {m50:9.2f}ms {m95:6.2f}ms {a50:9.2f}ms "
                f"{a95:6.2f}ms {ratio:6.2f}"
            )
        print()
        print("Attest faster on every call" if not slower else f"Attest slower on: {slower}")
        return 0
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # the server and everything it started
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
