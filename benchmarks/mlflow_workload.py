#!/usr/bin/env python
"""The same MLflow client workload against Attest and against `mlflow server`, interleaved.

    .venv/bin/python benchmarks/mlflow_workload.py                     # 100 versions, 3 rounds
    .venv/bin/python benchmarks/mlflow_workload.py --versions 100 --rounds 5 --workers 2

Starts both servers side by side on loopback in the same run, each with a fresh SQLite
database and the same number of worker processes: Attest under gunicorn with its shipped
configuration (config/gunicorn.conf.py, DEBUG off, its production settings), MLflow as
`mlflow server --backend-store-uri sqlite:///... --workers N`. After a short warm-up of
both, it runs rounds; each round runs the whole workload once against each server, on a
model of its own, and the order alternates (MLflow first in rounds 1, 3, ..., Attest first in
rounds 2, 4, ...), so a slow patch of the shared machine falls on both. One unmodified
MlflowClient per server runs the workload: create a model, create N versions with tags,
get the model and versions, set version tags, set an alias and resolve it, and search
(by name, by tag, by source path, and registered models).

Every call is timed on the client (wall clock, HTTP on loopback included). Per call the
script prints, for each server, the best round (the lowest per-round median) and the
median over all rounds, each with the 1-minute load average of the machine while it was
taken, then the ratio MLflow/Attest (above 1.0: Attest is faster; the goal of issue #17
is 3.0) and a verdict per call.

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


PORTS: list[int] = []  # --ports: the ports to use, in order; else any free one


def free_port() -> int:
    if PORTS:
        port = PORTS.pop(0)
        with socket.socket() as s:  # refuse a port in use: /health would reach another server
            s.bind(("127.0.0.1", port))
        return port
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
    # The shipped configuration (gthread workers, threads, keep-alive) with the process
    # count of the comparison; the access log goes to the file, as in production.
    env |= {
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_ACCESS_LOG": "-",
    }
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "config" / "gunicorn.conf.py"), "config.wsgi"],
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
    wait_until_up(url + "/health", proc, timeout=600)  # slow to start on a busy machine
    return proc, url, None


def run_workload(client, name: str, versions: int) -> dict[str, list[float]]:
    """One round of the workload on a model of its own; milliseconds per call."""
    times: dict[str, list[float]] = {}

    def timed(call, fn, *args, **kwargs):
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        times.setdefault(call, []).append((time.perf_counter() - started) * 1000)
        return result

    timed("create_registered_model", client.create_registered_model, name, tags={"team": "b"})
    for i in range(versions):
        timed(
            "create_model_version",
            client.create_model_version,
            name,
            source=f"s3://bench-bucket/{name}/{i}",
            tags={"batch": str(i % 10), "purpose": "benchmark"},
        )
    for i in range(min(200, versions)):
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
            f"source_path = 's3://bench-bucket/{name}/{(i * 37) % versions}'",
        )
        timed("search_registered_models", client.search_registered_models, f"name LIKE '{name}%'")
    return times


def load1() -> float:
    return os.getloadavg()[0]


class Server:
    """One server's client and what its rounds measured."""

    def __init__(self, label: str, url: str, token: str | None):
        from mlflow import MlflowClient

        self.label = label
        self.token = token
        self.client = MlflowClient(tracking_uri=url, registry_uri=url)
        # Per call: [(round median ms, load average while it ran)], and every sample.
        self.rounds: dict[str, list[tuple[float, float]]] = {}
        self.samples: dict[str, list[tuple[float, float]]] = {}

    def run(self, name: str, versions: int, *, keep: bool = True) -> float:
        # The client reads the token from the environment on every request; MLflow's
        # server has no authentication and gets no header.
        if self.token:
            os.environ["MLFLOW_TRACKING_TOKEN"] = self.token
        else:
            os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        before = load1()
        started = time.perf_counter()
        times = run_workload(self.client, name, versions)
        elapsed = time.perf_counter() - started
        load = (before + load1()) / 2
        if keep:
            for call, values in times.items():
                self.rounds.setdefault(call, []).append((statistics.median(values), load))
                self.samples.setdefault(call, []).extend((v, load) for v in values)
        return elapsed

    def best(self, call: str) -> tuple[float, float]:
        return min(self.rounds[call])

    def median(self, call: str) -> tuple[float, float]:
        values = sorted(self.samples[call])
        return statistics.median(v for v, _ in values), statistics.mean(x for _, x in values)


GOAL = 3.0  # issue #17: at least 3x faster than mlflow server on every call


def report(mlflow_srv: Server, attest: Server) -> list[str]:
    header = (
        f"{'call':34} {'n':>4} | {'MLflow best':>11} {'(load)':>6} {'median':>8} {'(load)':>6} | "
        f"{'Attest best':>11} {'(load)':>6} {'median':>8} {'(load)':>6} | "
        f"{'ratio best':>10} {'ratio med':>9}  verdict"
    )
    print(header)
    print("-" * len(header))
    short = []
    for call in mlflow_srv.rounds:
        mb, mbl = mlflow_srv.best(call)
        mm, mml = mlflow_srv.median(call)
        ab, abl = attest.best(call)
        am, aml = attest.median(call)
        rb, rm = mb / ab, mm / am
        verdict = "meets 3x" if rm >= GOAL else f"short of 3x ({rm:.2f}x)"
        if rm < GOAL:
            short.append(call)
        print(
            f"{call:34} {len(attest.samples[call]):4d} | {mb:9.2f}ms {mbl:6.2f} {mm:6.2f}ms "
            f"{mml:6.2f} | {ab:9.2f}ms {abl:6.2f} {am:6.2f}ms {aml:6.2f} | "
            f"{rb:10.2f} {rm:9.2f}  {verdict}"
        )
    return short


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server (3 or more)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--ports", type=int, default=0, help="Attest on this port, MLflow on the next (or any)"
    )
    args = parser.parse_args()
    if args.ports:
        PORTS.extend((args.ports, args.ports + 1))
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on kill, too
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # one INFO line per version
    tmp = Path(tempfile.mkdtemp(prefix="attest-mlflow-bench-"))
    procs = []
    try:
        attest_proc, attest_url, token = start_attest(tmp, args.workers)
        procs.append(attest_proc)
        mlflow_proc, mlflow_url, _ = start_mlflow(tmp, args.workers)
        procs.append(mlflow_proc)
        import mlflow

        # mlflow sets its own logger up on import: one INFO line per version otherwise.
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        mlflow_srv = Server("mlflow", mlflow_url, None)
        attest = Server("attest", attest_url, token)
        print(
            f"mlflow client {mlflow.__version__}; {args.versions} versions; {args.rounds} "
            f"interleaved rounds; {args.workers} worker processes each; SQLite for both; "
            f"loopback; load average at start {os.getloadavg()}"
        )
        for server in (mlflow_srv, attest):  # warm-up: imports, connections, caches
            server.run("warmup", 5, keep=False)
        for n in range(args.rounds):
            order = (mlflow_srv, attest) if n % 2 == 0 else (attest, mlflow_srv)
            for server in order:
                elapsed = server.run(f"bench-r{n}", args.versions)
                print(
                    f"round {n + 1}: {server.label:6} workload {elapsed:6.1f} s "
                    f"(load average {load1():.2f})"
                )
        print()
        short = report(mlflow_srv, attest)
        print()
        print(
            f"ratio = MLflow time / Attest time (goal: {GOAL:.0f}x on every call, judged on the "
            "median); load = 1-minute load average while the figure was taken"
        )
        print(
            "Attest is at least 3x faster on every call"
            if not short
            else f"Short of 3x on {len(short)} call(s): {', '.join(short)}"
        )
        return 0
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # the server and everything it started
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
            # Whatever of the group outlived the leader (uvicorn's workers do) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
