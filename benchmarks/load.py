#!/usr/bin/env python
"""Load test: gunicorn + the benchmark database, many simulated users signed in through forms.

    .venv/bin/python benchmarks/load.py                         # 50 users for 60 s
    .venv/bin/python benchmarks/load.py --users 50 --duration 60 --workers 5 --threads 4

Starts gunicorn (config/gunicorn.conf.py, bound to a free port on 127.0.0.1, DEBUG off, a
throwaway SECRET_KEY) against DATABASE_URL (default: the PostgreSQL database attest_bench
seeded by benchmarks/seed.py), waits for /healthz, then runs --users simulated users for
--duration seconds with an asyncio client (aiohttp) over loopback, and stops gunicorn at
the end, on errors and on Ctrl-C. Background tasks (the artifact scan after an upload) run
in process unless --broker is given (then a Celery worker must consume that broker).

Each user signs in through the login form (CSRF token from the form, session cookie), then
loops over a weighted mix with a think time between requests (--think, 5 s on average by
default, drawn from 0.5 to 1.5 times that): the model list (pages and
sorts), live search (htmx partials) for common, rare and prefix words, filters, the detail
page of a random model the user can see, a version page, and now and then an upload of a
new version through the real upload form (GET the form, POST a small file and a metric) to
a model of the user's team, which the user may change.

Accounts: the seeded team data scientists (bench_<team>_<n>). They have no password after
seeding, so the script gives them one random password per run (one hash, one UPDATE of those
rows) before starting; bench_ds, bench_admin and bench_auditor are left alone, as
benchmarks/search.py logs them in with force_login and a password change would sign it out.

It prints throughput and p50/p95/p99 latency per request kind, as the client saw it
(loopback, including any wait for a free gunicorn thread) and as gunicorn logged it
(server ms, from the access log), and the error count: any status other than 2xx/3xx, a
redirect to the login page, a failed connection or timeout. It exits 1 if there were errors.
"""

import argparse
import asyncio
import contextlib
import math
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ADMIN_USERNAME,
    AUDITOR_USERNAME,
    BENCH_PREFIX,
    DS_USERNAME,
    ROOT,
    django_setup,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/attest_bench"
PAGE_GOAL_MS = 200.0
# A person reads a page for a few seconds before the next click: 50 such users ask for
# about 9 pages a second. --think 1 is a stress run (about 40 a second), past what two
# cores serve within the goal (docs/performance.md).
DEFAULT_THINK_S = 5.0
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ACCESS_RE = re.compile(r'" (\d{3}) \S+ (\d+)ms rid=load-([a-z-]+)-\d+')

# (kind, weight): one is drawn per step of a user's loop.
MIX = [
    ("list", 20),
    ("search", 25),
    ("filter", 15),
    ("model", 17),
    ("version", 18),
    ("upload", 5),
]
SORTS = ["-updated", "name", "-name", "updated", "created", "-created", "-versions", "versions"]
COMMON_WORDS = ["customer", "model", "data", "features", "customer churn", "daily batch"]
RARE_WORDS = ["heliotrope", "counterfactual", "iceberg", "pseudonymised", "fraud heliotrope"]
PREFIXES = ["transa", "cust", "forec", "churn", "heli", "recomm", "pay"]
FILTERS = [
    {"stage": "Production"},
    {"stage": "Staging"},
    {"stage": "Archived"},
    {"tag": "pii=yes"},
    {"tag": "regulated=eu-ai-act"},
    {"tag": "modality"},
    {"framework": "pytorch"},
    {"framework": "XGBoost"},
    {"framework": "prophet"},
    {"q": "customer", "stage": "Production"},
    {"q": "score", "framework": "lightgbm", "sort": "name"},
]


# --- Data the users need: accounts, model names, team names ---------------------------------


def prepare(seed: int) -> dict:
    """Read what the users need from the database and give the team accounts a password."""
    django_setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.db import connections

    from registry.models import RegisteredModel

    skip = {DS_USERNAME, ADMIN_USERNAME, AUDITOR_USERNAME}
    teams = {}
    for group in Group.objects.filter(user__username__startswith=BENCH_PREFIX).distinct():
        members = [
            u
            for u in group.user_set.filter(username__startswith=BENCH_PREFIX)
            .exclude(username__in=skip)
            .order_by("username")
            .values_list("username", flat=True)
        ]
        models = list(
            RegisteredModel.objects.filter(team=group).values_list("name", "latest_version_number")
        )
        if members and models:
            teams[group.name] = {"members": members, "models": models}
    if not teams:
        raise SystemExit("No seeded team accounts: run benchmarks/seed.py first.")
    password = secrets.token_urlsafe(16)
    usernames = [u for t in teams.values() for u in t["members"]]
    User.objects.filter(username__in=usernames).update(password=make_password(password))
    connections.close_all()
    rng = random.Random(seed)
    for team in teams.values():  # a sample is enough; keeps the client light
        team["models"] = rng.sample(team["models"], min(2000, len(team["models"])))
    return {"teams": teams, "password": password}


# --- gunicorn ---------------------------------------------------------------------------


def gunicorn_path() -> str:
    """The project's .venv/bin/gunicorn, else the one beside this Python (a worktree that
    runs a shared virtualenv has no .venv of its own)."""
    local = ROOT / ".venv" / "bin" / "gunicorn"
    return str(local if local.exists() else Path(sys.executable).with_name("gunicorn"))


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages, printed beside every figure: on a
    shared machine a figure means little without them."""
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(args, port: int, log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(
        DATABASE_URL=os.environ["DATABASE_URL"],
        DEBUG="false",
        SECRET_KEY="load-" + secrets.token_urlsafe(32),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_COOKIES="false",
        STATIC_MANIFEST="false",
        ATTEST_VAR_DIR=os.environ["ATTEST_VAR_DIR"],
        LOG_LEVEL="WARNING",
    )
    if args.broker:
        env["CELERY_BROKER_URL"] = args.broker
    command = [
        gunicorn_path(),
        "-c",
        str(ROOT / "config" / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
    ]
    command += ["--workers", str(args.workers), "--threads", str(args.threads), "config.wsgi"]
    log = log_path.open("w")
    # Its own session: a Ctrl-C in the terminal reaches this script, which stops it cleanly.
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_healthy(proc: subprocess.Popen, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(base + "/healthz", timeout=5) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # graceful: workers finish their requests
    try:
        proc.wait(timeout=35)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- The simulated users ---------------------------------------------------------------


class Stats:
    def __init__(self):
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.seq = 0
        self.recording = False
        self.loads: list[float] = []  # 1-minute load average, sampled during the timed run

    def request_id(self, kind: str) -> str:
        self.seq += 1  # warm-up requests get ids the access log parser leaves out
        return f"load-{kind}-{'' if self.recording else 'w'}{self.seq:08d}"


class User:
    def __init__(self, index, username, team, data, base, stats, args):
        self.index, self.username, self.team = index, username, team
        self.models = data["teams"][team]["models"]
        self.team_names = list(data["teams"])
        self.password = data["password"]
        self.base, self.stats, self.args = base, stats, args
        self.rng = random.Random(args.seed * 1000 + index)
        self.session = None

    async def request(self, kind, method, path, *, params=None, data=None, htmx=False):
        """One request; returns (status, body) or None after an error (recorded)."""
        import aiohttp

        headers = {"X-Request-ID": self.stats.request_id(kind)}
        if htmx:
            headers["HX-Request"] = "true"
        started = time.perf_counter()
        try:
            async with self.session.request(
                method, self.base + path, params=params, data=data, headers=headers,
                allow_redirects=False,
            ) as response:  # fmt: skip
                body = await response.text()
                status = response.status
                location = response.headers.get("Location", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.error(kind, f"{method} {path}: {type(exc).__name__} {exc}")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        if self.stats.recording:
            self.stats.times[kind].append(elapsed)
        if status >= 400 or "/accounts/login/" in location and kind != "login":
            self.error(kind, f"{method} {path} {params or ''}: HTTP {status} {location}")
            return None
        return status, body, location

    def error(self, kind, message):
        if self.stats.recording or kind == "login":
            self.stats.errors[kind].append(f"{self.username}: {message}")

    async def login(self) -> bool:
        got = await self.request("login", "GET", "/accounts/login/")
        if not got or not (token := CSRF_RE.search(got[1])):
            self.error("login", "no CSRF token on the login form")
            return False
        form = {
            "csrfmiddlewaretoken": token.group(1),
            "username": self.username,
            "password": self.password,
            "next": "",
        }
        got = await self.request("login", "POST", "/accounts/login/", data=form)
        if not got or got[0] != 302:
            self.error("login", f"sign-in refused ({got and got[0]})")
            return False
        return True

    def pick_model(self):
        return self.rng.choice(self.models)

    async def step(self, kind):
        rng = self.rng
        if kind == "list":
            params = {"sort": rng.choice(SORTS)}
            if rng.random() < 0.6:
                params["page"] = str(rng.choice([2, 3, 5, 10, 40, 400]))
            await self.request(kind, "GET", "/models/", params=params, htmx=rng.random() < 0.5)
        elif kind == "search":
            words = rng.choice([COMMON_WORDS, RARE_WORDS, PREFIXES])
            await self.request(kind, "GET", "/models/", params={"q": rng.choice(words)}, htmx=True)
        elif kind == "filter":
            params = dict(rng.choice(FILTERS))
            if rng.random() < 0.3:
                params = {"team": rng.choice(self.team_names)}
            await self.request(kind, "GET", "/models/", params=params, htmx=rng.random() < 0.5)
        elif kind == "model":
            name, _ = self.pick_model()
            await self.request(kind, "GET", f"/models/{name}/")
        elif kind == "version":
            name, latest = self.pick_model()
            number = rng.randint(1, max(1, latest))
            await self.request(kind, "GET", f"/models/{name}/versions/{number}/")
        elif kind == "upload":
            await self.upload()

    async def upload(self):
        import aiohttp

        name, _ = self.pick_model()
        path = f"/models/{name}/versions/new/"
        got = await self.request("upload-form", "GET", path)
        if not got:
            return
        token = CSRF_RE.search(got[1])
        if not token:
            self.error("upload-form", f"{path}: no CSRF token on the upload form")
            return
        form = aiohttp.FormData()
        fields = {
            "csrfmiddlewaretoken": token.group(1),
            "description": f"Load test upload by {self.username}",
            "run_id": secrets.token_hex(16),
            "framework": "scikit-learn",
            "framework_version": "1.5.2",
            "tags": "trigger=load-test",
            "metrics-TOTAL_FORMS": "1",
            "metrics-INITIAL_FORMS": "0",
            "metrics-MIN_NUM_FORMS": "0",
            "metrics-MAX_NUM_FORMS": "1000",
            "metrics-0-name": "auc",
            "metrics-0-value": f"{self.rng.random():.4f}",
            "metrics-0-dataset": "",
            "params-TOTAL_FORMS": "0",
            "params-INITIAL_FORMS": "0",
            "params-MIN_NUM_FORMS": "0",
            "params-MAX_NUM_FORMS": "1000",
        }
        for key, value in fields.items():
            form.add_field(key, value)
        payload = os.urandom(self.rng.randint(2_000, 20_000))
        form.add_field(
            "files", payload, filename="model.bin", content_type="application/octet-stream"
        )
        got = await self.request("upload", "POST", path, data=form)
        if got and got[0] != 302:
            self.error("upload", f"{path}: HTTP {got[0]} instead of a redirect to the version")

    async def open(self, stack: contextlib.AsyncExitStack) -> bool:
        import aiohttp

        jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for an IP address host
        timeout = aiohttp.ClientTimeout(total=self.args.timeout)
        connector = aiohttp.TCPConnector(limit=2)
        self.session = await stack.enter_async_context(
            aiohttp.ClientSession(cookie_jar=jar, timeout=timeout, connector=connector)
        )
        # Stagger the sign-ins: password hashing is slow on purpose.
        await asyncio.sleep(self.rng.random() * self.args.ramp)
        started = time.perf_counter()
        ok = await self.login()
        self.stats.times["login"].append((time.perf_counter() - started) * 1000)
        return ok

    async def loop(self, deadline: float):
        kinds, weights = zip(*MIX, strict=True)
        # People do not all click at the same instant: each user starts somewhere within
        # one think time, as if they had been working for a while (all starting together
        # would send every user's request in one burst, again and again).
        await asyncio.sleep(self.rng.uniform(0, 1.5) * self.args.think)
        while time.monotonic() < deadline:
            await self.step(self.rng.choices(kinds, weights)[0])
            if self.args.think:
                await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.args.think)


async def drive(args, data, base, stats) -> float:
    assignments = [(u, team) for team, t in data["teams"].items() for u in t["members"]]
    users = []
    for i in range(args.users):
        username, team = assignments[i % len(assignments)]
        users.append(User(i, username, team, data, base, stats, args))
    async with contextlib.AsyncExitStack() as stack:
        started = time.monotonic()
        signed_in = await asyncio.gather(*(u.open(stack) for u in users))
        print(
            f"{sum(signed_in)} of {len(users)} users signed in "
            f"({time.monotonic() - started:.1f}s); {args.warmup:g}s warm-up, "
            f"then {args.duration:g}s timed",
            flush=True,
        )
        deadline = time.monotonic() + args.warmup + args.duration
        loops = asyncio.gather(
            *(u.loop(deadline) for u, ok in zip(users, signed_in, strict=True) if ok)
        )
        await asyncio.sleep(args.warmup)  # untimed: caches, connections, the first wave
        stats.recording = True
        started = time.monotonic()
        sampler = asyncio.ensure_future(sample_load(stats))
        await loops
        sampler.cancel()
        return time.monotonic() - started


async def sample_load(stats, every: float = 5.0) -> None:
    while True:
        stats.loads.append(os.getloadavg()[0])
        await asyncio.sleep(every)


# --- Report ----------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)] if ordered else math.nan


def server_times(log_path: Path) -> dict[str, list[float]]:
    """Server ms per kind from gunicorn's access log (the request ids carry the kind)."""
    times = defaultdict(list)
    with log_path.open(errors="replace") as log:
        for line in log:
            match = ACCESS_RE.search(line)
            if match:
                times[match.group(3)].append(float(match.group(2)))
    return times


def report(stats: Stats, elapsed: float, server: dict[str, list[float]]) -> None:
    kinds = [k for k, _ in MIX if k != "upload"] + ["upload-form", "upload"]
    rows = [(k, stats.times.get(k, []), server.get(k, [])) for k in kinds]
    pages = [k for k in kinds if k != "upload"]
    rows.append(
        (
            "pages (GET)",
            [t for k in pages for t in stats.times.get(k, [])],
            [t for k in pages for t in server.get(k, [])],
        )
    )
    rows.append(
        (
            "all",
            [t for k in kinds for t in stats.times.get(k, [])],
            [t for k in kinds for t in server.get(k, [])],
        )
    )
    error_kinds = {"pages (GET)": pages, "all": [*kinds, "login"]}
    print()
    print(
        f"{'kind':<13}{'requests':>9}{'req/s':>8}{'errors':>7}"
        f"{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}"
        f"{'server p50':>11}{'p95':>6}{'p99':>6}"
    )
    for kind, client, srv in rows:
        errors = sum(len(stats.errors.get(k, [])) for k in error_kinds.get(kind, [kind]))
        print(
            f"{kind:<13}{len(client):>9}{len(client) / elapsed:>8.1f}{errors:>7}"
            f"{percentile(client, 50):>8.0f}{percentile(client, 95):>8.0f}"
            f"{percentile(client, 99):>8.0f}{max(client, default=math.nan):>8.0f}"
            f"{percentile(srv, 50):>11.0f}{percentile(srv, 95):>6.0f}{percentile(srv, 99):>6.0f}"
        )
    page_p95 = percentile(rows[-2][1], 95)
    verdict = "met" if page_p95 < PAGE_GOAL_MS else "missed"
    errors = sum(len(v) for v in stats.errors.values())
    loads = stats.loads or [os.getloadavg()[0]]
    print(
        f"\nload average (1 min) during the timed run: {min(loads):.1f} to {max(loads):.1f}; "
        f"{load_average()} at the end"
    )
    print(f"goal: pages p95 under {PAGE_GOAL_MS:.0f} ms: {page_p95:.0f} ms, {verdict}")
    print(f"goal: zero errors: {errors}, {'met' if errors == 0 else 'missed'}")
    logins = stats.times.get("login", [])
    print(
        f"\nsign-in (before the timed window): {len(logins)} users, "
        f"p50 {percentile(logins, 50):.0f} ms, max {max(logins, default=math.nan):.0f} ms"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    parser.add_argument("--duration", type=float, default=60, help="timed seconds (default 60)")
    think_help = f"mean think time between a user's requests, s (default {DEFAULT_THINK_S:g})"
    parser.add_argument("--think", type=float, default=DEFAULT_THINK_S, help=think_help)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: its config)")
    parser.add_argument("--threads", type=int, help="gunicorn threads (default: its config)")
    parser.add_argument("--broker", help="CELERY_BROKER_URL for gunicorn (default: in process)")
    parser.add_argument("--warmup", type=float, default=10, help="untimed seconds first")
    parser.add_argument("--ramp", type=float, default=10, help="spread sign-ins over N s")
    parser.add_argument("--timeout", type=float, default=60, help="per-request timeout, s")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--port", type=int, help="gunicorn's port (default: a free one)")
    args = parser.parse_args(argv)

    # The defaults of config/gunicorn.conf.py, resolved here to be printed.
    args.workers = args.workers or int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() * 2 + 1))
    args.threads = args.threads or int(os.environ.get("GUNICORN_THREADS", 4))
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("ATTEST_VAR_DIR", str(ROOT / "var" / "bench-pg"))
    data = prepare(args.seed)
    var_dir = Path(os.environ["ATTEST_VAR_DIR"])
    log_path = var_dir / "load-gunicorn.log"
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    database = os.environ["DATABASE_URL"].rsplit("@", 1)[-1]
    proc = start_gunicorn(args, port, log_path)
    stats = Stats()
    try:
        wait_healthy(proc, base)
        print(
            f"gunicorn {base} ({args.workers} workers x {args.threads} threads; tasks "
            f"{'via ' + args.broker if args.broker else 'in process'}), database {database}; "
            f"{args.users} users, think {args.think:g}s; log {log_path}; {load_average()}",
            flush=True,
        )
        elapsed = asyncio.run(drive(args, data, base, stats))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        stop_gunicorn(proc)
    report(stats, elapsed, server_times(log_path))
    errors = [e for kind in stats.errors.values() for e in kind]
    print(f"errors: {len(errors)}")
    for line in errors[:20]:
        print("  " + line)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
