#!/usr/bin/env python
"""Does a flood of failed sign-ins slow down everyone else's audited writes?

    .venv/bin/python benchmarks/login_flood.py                 # 6 rounds of each
    .venv/bin/python benchmarks/login_flood.py --prelocked     # no password hash in the flood
    .venv/bin/python benchmarks/login_flood.py --batch 1       # every failure chained at once

Every audited write takes the audit chain's lock. Failed sign-ins used to be audit events
themselves, so a flood of wrong passwords queued every upload behind it. Now they are
plain inserts into `FailedSignIn`, folded into the chain as one event per batch
(FAILED_SIGNIN_BATCH, default 100), and django-axes locks a username or an address after
AXES_FAILURE_LIMIT failures, so only the first few attempts per username cost a password
hash. `--batch 1` folds every failure into the chain as it happens: the old cost, for
comparison.

What it does: creates (or reuses) the PostgreSQL database named by --database-url, migrates
it, creates a data scientist with a model, starts gunicorn (config/gunicorn.conf.py, DEBUG
off, TRUSTED_PROXY_COUNT=1 so each flood request can come from its own address), signs the
data scientist in through the login form, then runs interleaved rounds: a batch of
--uploads version uploads through the real upload form alone ("quiet"), and the same batch
while --flood failed sign-ins arrive from --flood-clients concurrent clients, every one from
a new address, spread over a few usernames that change every round ("flood"). The order
alternates (quiet, flood, flood, quiet, ...) so drift in the machine's load hits both.
The flood runs in a separate process, so only the server is shared. Results and what they
mean: docs/deploy.md, "Sign-in throttling, sessions and proxies".

It prints each batch's time and median upload latency with the load average beside it, the
medians over rounds, and the verdict "slowdown X % (goal <= 20 %): met/missed".

`--threads 4` runs gunicorn as config/gunicorn.conf.py ships it. With one thread per worker
(the default here) an upload whose keep-alive connection shares a worker with a flood
connection waits for that worker's password hashes (about a second each, at idle priority):
figures for both in docs/performance.md, "Sign-in flood".
"""

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BIN = Path(PY).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/attest_loginflood"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
USERNAME = "flood_ds"
MODEL = "flood-bench"
GOAL_PERCENT = 20.0


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Set-up ------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        return
    import psycopg

    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(env: dict, password: str) -> None:
    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    setup = f"""
from django.contrib.auth.models import Group, User
from governance.request_context import audit_context
from registry.models import RegisteredModel
from registry.services import model_create
team = Group.objects.get_or_create(name="Flood bench team")[0]
user = User.objects.filter(username="{USERNAME}").first()
if user is None:
    user = User.objects.create_user("{USERNAME}", "f@example.com")
user.set_password("{password}")
user.save()
user.groups.add(Group.objects.get(name="Data scientists"), team)
if not RegisteredModel.objects.filter(name="{MODEL}").exists():
    with audit_context(source="cli"):
        model_create(actor=user, name="{MODEL}", team=team)
"""
    subprocess.run([*manage, "shell", "-c", setup], env=env, check=True, cwd=ROOT)
    # Start from nothing locked and nothing waiting (earlier runs).
    subprocess.run(
        [*manage, "shell", "-c", "from axes.models import AccessAttempt; "
         "AccessAttempt.objects.all().delete()"],
        env=env, check=True, cwd=ROOT,
    )  # fmt: skip
    subprocess.run([*manage, "fold_failed_signins"], env=env, check=True, cwd=ROOT)


def start_gunicorn(env: dict, args, port: int, log_path: Path) -> subprocess.Popen:
    command = [
        str(BIN / "gunicorn"),
        "-c",
        str(ROOT / "config" / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "config.wsgi",
    ]
    log = log_path.open("w")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_healthy(proc, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(base + "/healthz") as r:
            if r.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def stop_gunicorn(proc) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=35)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- Clients ---------------------------------------------------------------------------


async def csrf_of(session, url: str, headers: dict) -> str:
    async with session.get(url, headers=headers) as response:
        match = CSRF_RE.search(await response.text())
    if not match:
        raise RuntimeError(f"no CSRF token on {url}")
    return match.group(1)


async def sign_in(session, base: str, password: str) -> None:
    headers = {"X-Forwarded-For": "192.0.2.10"}
    token = await csrf_of(session, base + "/accounts/login/", headers)
    form = {"csrfmiddlewaretoken": token, "username": USERNAME, "password": password}
    async with session.post(
        base + "/accounts/login/", data=form, headers=headers, allow_redirects=False
    ) as response:
        if response.status != 302:
            raise RuntimeError(f"the benchmark user could not sign in: HTTP {response.status}")


async def upload(session, base: str, n: int) -> float:
    import aiohttp

    path = f"{base}/models/{MODEL}/versions/new/"
    headers = {"X-Forwarded-For": "192.0.2.10"}
    started = time.perf_counter()
    token = await csrf_of(session, path, headers)
    form = aiohttp.FormData()
    for key, value in {
        "csrfmiddlewaretoken": token,
        "description": f"login flood benchmark upload {n}",
        "run_id": secrets.token_hex(16),
        "framework": "scikit-learn",
        "framework_version": "1.5.2",
        "tags": "",
        "metrics-TOTAL_FORMS": "1",
        "metrics-INITIAL_FORMS": "0",
        "metrics-MIN_NUM_FORMS": "0",
        "metrics-MAX_NUM_FORMS": "1000",
        "metrics-0-name": "auc",
        "metrics-0-value": "0.9",
        "metrics-0-dataset": "",
        "params-TOTAL_FORMS": "0",
        "params-INITIAL_FORMS": "0",
        "params-MIN_NUM_FORMS": "0",
        "params-MAX_NUM_FORMS": "1000",
    }.items():
        form.add_field(key, value)
    form.add_field(
        "files", os.urandom(8_000), filename="model.bin", content_type="application/octet-stream"
    )
    async with session.post(path, data=form, headers=headers, allow_redirects=False) as response:
        await response.read()
        if response.status != 302:
            raise RuntimeError(f"upload {n} answered HTTP {response.status}")
    return time.perf_counter() - started


async def upload_batch(session, base: str, count: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    latencies = [await upload(session, base, n) for n in range(count)]
    return time.perf_counter() - started, latencies


async def flood(
    base: str,
    attempts: int,
    clients: int,
    round_no: int,
    accounts: int,
    rate: float,
    prelocked: bool = False,
) -> dict:
    """`attempts` wrong passwords, each from its own address, over `accounts` usernames."""
    import aiohttp

    statuses: dict[int, int] = {}
    queue = list(range(attempts))
    prefix = "locked" if prelocked else f"r{round_no}"
    usernames = [f"{prefix}-victim{k}" for k in range(accounts)]

    async def client(index: int):
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            token = await csrf_of(session, base + "/accounts/login/", {})
            while queue:
                n = queue.pop()
                address = f"10.{round_no % 250}.{n // 250}.{n % 250 + 1}"
                form = {
                    "csrfmiddlewaretoken": token,
                    "username": usernames[n % len(usernames)],
                    "password": secrets.token_urlsafe(8),
                }
                async with session.post(
                    base + "/accounts/login/",
                    data=form,
                    headers={"X-Forwarded-For": address},
                    allow_redirects=False,
                ) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                if rate:
                    await asyncio.sleep(clients / rate)

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return {"seconds": time.perf_counter() - started, "statuses": statuses}


def flood_process(queue, *args) -> None:
    queue.put(asyncio.run(flood(*args)))


async def run(args, base: str, password: str) -> int:
    import aiohttp

    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        await sign_in(session, base, password)
        await upload_batch(session, base, 3)  # warm-up: connections, caches
        if args.prelocked:  # lock the flood's usernames first: no password hash in the rounds
            await flood(base, 6 * args.accounts, 1, 0, args.accounts, 0, True)
        results = {"quiet": [], "flood": []}
        order = []
        for r in range(args.rounds):
            order += ["quiet", "flood"] if r % 2 == 0 else ["flood", "quiet"]
        for i, kind in enumerate(order):
            if kind == "quiet":
                total, latencies = await upload_batch(session, base, args.uploads)
                extra = ""
            else:
                # The flood runs in its own process, so its client work (parsing 429
                # pages) does not slow this process's uploads: only the server is shared.
                results_queue = multiprocessing.get_context("fork").Queue()
                flooder = multiprocessing.get_context("fork").Process(
                    target=flood_process,
                    args=(
                        results_queue,
                        base,
                        args.flood,
                        args.flood_clients,
                        i,
                        args.accounts,
                        args.flood_rate,
                        args.prelocked,
                    ),
                )
                flooder.start()
                await asyncio.sleep(0.3)  # the flood is under way first
                total, latencies = await upload_batch(session, base, args.uploads)
                done = await asyncio.to_thread(results_queue.get)
                flooder.join()
                codes = ", ".join(f"{k}: {v}" for k, v in sorted(done["statuses"].items()))
                extra = f"  flood of {args.flood} took {done['seconds']:.1f}s ({codes})"
            results[kind].append(total)
            print(
                f"{kind:5}  {args.uploads} uploads in {total:6.2f}s  "
                f"median {statistics.median(latencies) * 1000:6.0f} ms  [{load()}]{extra}",
                flush=True,
            )
    quiet, flooded = statistics.median(results["quiet"]), statistics.median(results["flood"])
    slowdown = (flooded / quiet - 1) * 100
    print(f"\nmedian batch: quiet {quiet:.2f}s, under flood {flooded:.2f}s  [{load()}]")
    verdict = "met" if slowdown <= GOAL_PERCENT else "missed"
    print(f"slowdown {slowdown:.1f} % (goal <= {GOAL_PERCENT:.0f} %): {verdict}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--rounds", type=int, default=6, help="pairs of quiet/flood batches")
    parser.add_argument("--uploads", type=int, default=20, help="uploads per batch")
    parser.add_argument("--flood", type=int, default=200, help="failed sign-ins per flood")
    parser.add_argument("--flood-clients", type=int, default=2)
    parser.add_argument(
        "--flood-rate", type=float, default=0, help="attempts per second (0: as fast as possible)"
    )
    parser.add_argument(
        "--accounts", type=int, default=1, help="usernames the flood guesses (new each round)"
    )
    # One thread per process: the uploader's request never shares a GIL with the flood's.
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--prelocked",
        action="store_true",
        help="flood usernames already locked (no password is hashed during the rounds)",
    )
    parser.add_argument("--batch", type=int, default=None, help="FAILED_SIGNIN_BATCH")
    args = parser.parse_args()

    ensure_database(args.database_url)
    var = Path(tempfile.mkdtemp(prefix="attest-login-flood-"))
    (var / "staticfiles").mkdir()
    password = secrets.token_urlsafe(16)
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(
        DATABASE_URL=args.database_url,
        ATTEST_VAR_DIR=str(var),
        DEBUG="false",
        SECRET_KEY="flood-" + secrets.token_urlsafe(32),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_COOKIES="false",
        STATIC_MANIFEST="false",
        LOG_LEVEL="ERROR",
        TRUSTED_PROXY_COUNT="1",
        GUNICORN_ACCESS_LOG=str(var / "access.log"),
    )
    if args.batch is not None:
        env["FAILED_SIGNIN_BATCH"] = str(args.batch)
    print(f"Database: {args.database_url}  var: {var}  [{load()}]", flush=True)
    prepare(env, password)
    port = free_port()
    proc = start_gunicorn(env, args, port, var / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base)
        print(
            f"gunicorn: {args.workers} workers x {args.threads} threads; "
            f"{args.rounds} rounds of {args.uploads} uploads, flood {args.flood} attempts "
            f"from {args.flood_clients} clients (rate {args.flood_rate or 'max'}/s) "
            f"against {args.accounts} account(s), "
            f"batch {args.batch or 'default (100)'}",
            flush=True,
        )
        return asyncio.run(run(args, base, password))
    finally:
        stop_gunicorn(proc)


if __name__ == "__main__":
    sys.exit(main())
