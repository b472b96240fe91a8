#!/usr/bin/env python
"""How fast does a large file go in, compared with hashing it and writing it to disk?

    .venv/bin/python benchmarks/upload.py                     # 2 GiB, 3 rounds
    .venv/bin/python benchmarks/upload.py --size-mib 512 --rounds 5

Issue #17's goals: a 2 GiB file through the web upload form in at most 1.2x the time of
`sha256sum` of the same file plus `dd conv=fdatasync` of it, measured in the same run, with
the gunicorn worker's peak RSS under 150 MB; the same through the MLflow artifact proxy
(a PUT with a personal token, as the mlflow client's `log_artifact` sends it).

What it does: creates (or reuses) the PostgreSQL database named by --database-url, migrates
it, creates a data scientist with a model, an experiment, a run and a read-write token,
writes a file of random bytes (--size-mib) and starts gunicorn as config/gunicorn.conf.py
ships it (DEBUG off, local artifact storage, a Redis broker so the pickle scan is queued,
not run in the request). Then it runs interleaved rounds, the order rotating each round:

  reference  `sha256sum FILE` then `dd if=FILE of=COPY bs=1M conv=fdatasync`
  form       `curl -F files=@FILE` to /models/<name>/versions/new/, signed in (302 expected)
  proxy      `curl -T FILE` to /api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/...

All three read the same file from the page cache and write it to the same disk, fsynced.
Before each upload the workers' peak-RSS counters are reset (/proc/PID/clear_refs), after it
the highest VmHWM among the workers is the request's peak. The server's CPU seconds are the
workers' utime+stime over the request. Each figure is printed with the load average beside
it; then the medians, the ratios to the reference and a verdict per goal. Stored copies are
deleted after each round (disk space). Results: docs/performance.md, "Uploads".
"""

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from login_flood import ensure_database, free_port, load, stop_gunicorn, wait_healthy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BIN = Path(PY).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/attest_upload"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
USERNAME = "upload_ds"
MODEL = "upload-bench"
GOAL_RATIO = 1.2
GOAL_RSS_MB = 150.0


def prepare(env: dict, password: str) -> tuple[str, str, str]:
    """Migrate, create the user, model, experiment, run and token: (experiment, run, token)."""
    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    setup = f"""
from django.contrib.auth.models import Group, User
from governance.request_context import audit_context
from governance.services.tokens import token_create
from registry.models import Experiment, RegisteredModel
from registry.services import model_create
from registry.services.tracking import experiment_create, run_create
team = Group.objects.get_or_create(name="Upload bench team")[0]
user = User.objects.filter(username="{USERNAME}").first()
if user is None:
    user = User.objects.create_user("{USERNAME}", "u@example.com")
user.set_password("{password}")
user.save()
user.groups.add(Group.objects.get(name="Data scientists"), team)
with audit_context(source="cli"):
    if not RegisteredModel.objects.filter(name="{MODEL}").exists():
        model_create(actor=user, name="{MODEL}", team=team)
    exp = Experiment.objects.filter(name="upload-bench").first()
    if exp is None:
        exp = experiment_create(actor=user, name="upload-bench")
    run = run_create(actor=user, experiment=exp)
    _row, raw = token_create(actor=user, name="upload bench", scope="write")
print("BENCH", exp.pk, run.run_id, raw)
"""
    out = subprocess.run(
        [*manage, "shell", "-c", setup], env=env, check=True, cwd=ROOT, capture_output=True
    ).stdout.decode()
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    _tag, exp, run, token = line.split()
    return exp, run, token


def start_gunicorn(env: dict, args, port: int, log_path: Path) -> subprocess.Popen:
    command = [
        str(BIN / "gunicorn"),
        "-c",
        str(ROOT / "config" / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "config.wsgi",
    ]
    env = env | {"GUNICORN_WORKERS": str(args.workers), "GUNICORN_THREADS": str(args.threads)}
    log = log_path.open("w")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


# --- The workers: CPU and peak RSS -------------------------------------------------------


def workers_of(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def reset_peaks(pids) -> None:
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := current RSS


def peak_rss_mb(pids) -> float:
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def cpu_seconds(pids) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


# --- The three contenders ----------------------------------------------------------------


def run_timed(commands) -> float:
    started = time.perf_counter()
    for command in commands:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def curl(*args) -> tuple[int, str]:
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/stdout", "-w", "\n%{http_code}", "-H", "Expect:", *args],
        capture_output=True,
        check=True,
    ).stdout.decode(errors="replace")
    body, _, code = out.rpartition("\n")
    return int(code), body


def sign_in(base: str, jar: Path, password: str) -> None:
    _code, page = curl("-c", str(jar), "-b", str(jar), base + "/accounts/login/")
    token = CSRF_RE.search(page).group(1)
    code, _ = curl(
        "-c", str(jar), "-b", str(jar),
        "--data-urlencode", f"csrfmiddlewaretoken={token}",
        "--data-urlencode", f"username={USERNAME}",
        "--data-urlencode", f"password={password}",
        base + "/accounts/login/",
    )  # fmt: skip
    if code != 302:
        raise RuntimeError(f"the benchmark user could not sign in: HTTP {code}")


def form_upload(base: str, jar: Path, path: Path, n: int) -> float:
    url = f"{base}/models/{MODEL}/versions/new/"
    _code, page = curl("-c", str(jar), "-b", str(jar), url)
    token = CSRF_RE.search(page).group(1)
    fields = {
        "csrfmiddlewaretoken": token,
        "description": f"upload benchmark {n}",
        "metrics-TOTAL_FORMS": "0",
        "metrics-INITIAL_FORMS": "0",
        "params-TOTAL_FORMS": "0",
        "params-INITIAL_FORMS": "0",
    }
    form = [a for k, v in fields.items() for a in ("-F", f"{k}={v}")]
    started = time.perf_counter()
    code, body = curl(
        "-c", str(jar), "-b", str(jar), *form,
        "-F", f"files=@{path};filename=model.bin;type=application/octet-stream",
        url,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if code != 302:
        raise RuntimeError(f"form upload {n} answered HTTP {code}: {body[:300]}")
    return seconds


def proxy_upload(base: str, token: str, exp: str, run: str, path: Path, n: int) -> float:
    url = f"{base}/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/model-{n}.bin"
    started = time.perf_counter()
    code, body = curl(
        "-X", "PUT", "-T", str(path),
        "-H", f"Authorization: Bearer {token}",
        "-H", "Content-Type: application/octet-stream",
        url,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if code != 200:
        raise RuntimeError(f"proxy upload {n} answered HTTP {code}: {body[:300]}")
    return seconds


def write_random_file(path: Path, mib: int) -> None:
    with path.open("wb") as out:
        for _ in range(mib):
            out.write(os.urandom(1024 * 1024))


def clean_stored(var: Path) -> None:
    for sub in ("artifacts/artifacts", "artifacts/mlflow"):
        shutil.rmtree(var / sub, ignore_errors=True)


# --- The run -----------------------------------------------------------------------------


def run(args, master, base, var, data, password, exp, run_id, token) -> int:
    jar = var / "cookies.txt"
    sign_in(base, jar, password)
    copy = var / "dd-copy.bin"
    size_mb = data.stat().st_size / 1e6
    results = {"reference": [], "form": [], "proxy": []}
    rss = {"form": [], "proxy": []}
    cpu = {"form": [], "proxy": []}
    order = ["reference", "form", "proxy"]
    for r in range(args.rounds):
        for kind in order[r % 3 :] + order[: r % 3]:
            pids = workers_of(master)
            if kind == "reference":
                seconds = run_timed(
                    [
                        ["sha256sum", str(data)],
                        ["dd", f"if={data}", f"of={copy}", "bs=1M", "conv=fdatasync"],
                    ]
                )
                copy.unlink()
                extra = ""
            else:
                reset_peaks(pids)
                cpu_before = cpu_seconds(pids)
                if kind == "form":
                    seconds = form_upload(base, jar, data, r)
                else:
                    seconds = proxy_upload(base, token, exp, run_id, data, r)
                used = cpu_seconds(pids) - cpu_before
                peak = peak_rss_mb(pids)
                rss[kind].append(peak)
                cpu[kind].append(used)
                extra = f"  server CPU {used:5.1f}s  worker peak RSS {peak:5.1f} MB"
                clean_stored(var)
            results[kind].append(seconds)
            print(
                f"round {r + 1}  {kind:9}  {seconds:6.2f}s  {size_mb / seconds:6.1f} MB/s"
                f"{extra}  [{load()}]",
                flush=True,
            )
    reference = statistics.median(results["reference"])
    print(f"\nmedian reference (sha256sum + dd conv=fdatasync): {reference:.2f}s  [{load()}]")
    for kind, label in (("form", "web form"), ("proxy", "MLflow artifact proxy")):
        seconds = statistics.median(results[kind])
        ratio = seconds / reference
        peak = max(rss[kind])
        verdict = "met" if ratio <= GOAL_RATIO else "missed"
        rss_verdict = "met" if peak < GOAL_RSS_MB else "missed"
        print(
            f"{label}: median {seconds:.2f}s ({size_mb / seconds:.0f} MB/s), server CPU median "
            f"{statistics.median(cpu[kind]):.1f}s  [{load()}]\n"
            f"  ratio {ratio:.2f} (goal <= {GOAL_RATIO}): {verdict}\n"
            f"  worker peak RSS {peak:.1f} MB (goal < {GOAL_RSS_MB:.0f} MB): {rss_verdict}"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument(
        "--broker-url", default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() * 2 + 1)  # as shipped
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--workdir", default=str(ROOT / "var"), help="same disk as a deploy")
    args = parser.parse_args()

    ensure_database(args.database_url)
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    var = Path(tempfile.mkdtemp(prefix="attest-upload-bench-", dir=args.workdir))
    (var / "staticfiles").mkdir()
    password = secrets.token_urlsafe(16)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.broker_url,
        ATTEST_VAR_DIR=str(var),
        DEBUG="false",
        SECRET_KEY="upload-" + secrets.token_urlsafe(32),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_COOKIES="false",
        STATIC_MANIFEST="false",
        LOG_LEVEL="ERROR",
        ARTIFACT_STORAGE="local",
        GUNICORN_ACCESS_LOG=str(var / "access.log"),
    )
    print(f"Database: {args.database_url}  var: {var}  [{load()}]", flush=True)
    exp, run_id, token = prepare(env, password)
    data = var / "upload.bin"
    write_random_file(data, args.size_mib)
    port = args.port or free_port()
    proc = start_gunicorn(env, args, port, var / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base)
        print(
            f"gunicorn: {args.workers} workers x {args.threads} threads; "
            f"{args.rounds} rounds of a {args.size_mib} MiB file  [{load()}]",
            flush=True,
        )
        return run(args, proc.pid, base, var, data, password, exp, run_id, token)
    finally:
        stop_gunicorn(proc)
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
