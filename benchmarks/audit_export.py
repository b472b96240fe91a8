#!/usr/bin/env python
"""Time the audit trail export (the "audit_export" report) and show its memory stays flat.

    .venv/bin/python benchmarks/audit_export.py                    # 1,000,000 events
    .venv/bin/python benchmarks/audit_export.py --events 100000 --small 10000

First it makes sure the benchmark database holds at least --events audit events: the
missing ones are added with a valid hash chain (hashed in Python with the recorder's own
`compute_hash`, written with `bulk_create` in one transaction, the chain head moved to the
last one), spread one every 86.4 s up to now, so 1,000,000 events cover about 1,000
days. Then, in a fresh process per case (so `ru_maxrss` starts from a clean baseline), it
runs `governance.reports.audit_export.write()` (what the report worker runs) into a
temporary file as `bench_admin` (Registry admins, registry-wide view), for JSON Lines and
CSV, twice each:

- timed: wall and CPU time, rows per second, file size, and the growth of the process's
  peak resident memory (ru_maxrss) over its baseline after start-up;
- under tracemalloc: the peak of Python allocations during the export.

The cases are the registry-wide export (every event) and a period export holding about
--small events (the oldest days), to show that peak memory does not grow with the number
of rows. Same database selection as the other benchmarks (benchmarks/common.py):
var/bench/attest.sqlite3, or DATABASE_URL.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ADMIN_USERNAME, describe_database, django_setup  # noqa: E402

SEED_AUDIT_ACTION = "benchmark.seed_audit"
STEP_SECONDS = 86.4  # 1,000 events a day
PHRASES = (
    "recall improved on the holdout",
    "slices checked with the operations team",
    "drift within bounds",
    "latency budget respected",
    "retrained on the March data",
    "approved after review",
)


def _hex(rng: random.Random, chars: int) -> str:
    return f"{rng.getrandbits(chars * 4):0{chars}x}"


def _event_fields(rng: random.Random, actors: list[str], models: tuple[int, int]) -> dict:
    """One plausible event: downloads and uploads most often, some decisions and sign-ins."""
    model_id = rng.randint(*models)
    version = rng.randint(1, 12)
    name = f"model-{model_id:06d}"
    reason = "; ".join(rng.sample(PHRASES, rng.randint(1, 4)))
    roll = rng.random()
    fields = {"registered_model_id": model_id, "model_version_id": model_id * 20 + version}
    if roll < 0.35:
        after = {"path": "model.pkl", "sha256": _hex(rng, 64), "size": rng.randint(10**4, 10**9)}
        fields.update(action="artifact.download", target_type="registry.artifact", after=after)
    elif roll < 0.55:
        after = {
            "model": name,
            "version": version,
            "artifacts": [{"path": "model.pkl", "sha256": _hex(rng, 64), "size": 123456}],
            "metrics": [{"name": "auc", "value": round(rng.random(), 4), "dataset": ""}],
            "lineage": {"run_id": _hex(rng, 32), "framework": "sklearn"},
        }
        fields.update(action="version.create", target_type="registry.modelversion", after=after)
    elif roll < 0.70:
        after = {"model": name, "version": version, "target_stage": "Production"}
        after |= {"status": "approved", "reason": reason, "approver_groups": ["Approvers"]}
        fields.update(action="transition.approve", target_type="governance.transitionrequest")
        fields["after"] = after
    elif roll < 0.80:
        before = {"description": reason[:40]}
        fields.update(action="model.update", target_type="registry.registeredmodel")
        fields.update(before=before, after={"description": reason}, model_version_id=None)
    else:
        fields = {
            "action": "auth.login",
            "target_type": "auth.user",
            "registered_model_id": None,
            "model_version_id": None,
            "after": {"backend": "django.contrib.auth.backends.ModelBackend"},
        }
    fields["actor_username"] = rng.choice(actors)
    fields["target_id"] = str(rng.randint(1, 10**6))
    fields["target_repr"] = name if fields["registered_model_id"] else fields["actor_username"]
    fields["client_ip"] = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    fields["request_id"] = _hex(rng, 32)
    return fields


def seed_events(missing: int, *, batch: int, seed: int) -> float:
    """Append `missing` events to the chain; returns the seconds it took."""
    from django.db import transaction
    from django.db.models import Max, Min

    from governance import audit, request_context
    from governance.models import AuditChainHead, AuditEvent
    from registry.models import RegisteredModel

    rng = random.Random(seed)
    bounds = RegisteredModel.objects.aggregate(lo=Min("id"), hi=Max("id"))
    models = (bounds["lo"] or 1, bounds["hi"] or 1000)
    actors = [f"bench_user_{i}" for i in range(40)] + ["bench_admin", "bench_auditor"]
    first = datetime.now(UTC) - timedelta(seconds=missing * STEP_SECONDS)
    started = time.perf_counter()
    with request_context.audit_context(source="cli"), transaction.atomic():
        head = audit._locked_head()
        previous = head.last_hash
        done = 0
        while done < missing:
            rows = []
            for i in range(done, min(done + batch, missing)):
                event = AuditEvent(
                    occurred_at=first + timedelta(seconds=i * STEP_SECONDS),
                    context={"benchmark": "audit_export"},
                    source="cli",
                    prev_hash=previous,
                    **_event_fields(rng, actors, models),
                )
                event.hash = previous = audit.compute_hash(event)
                rows.append(event)
            AuditEvent.objects.bulk_create(rows)
            done += len(rows)
            if done % 100_000 < batch or done == missing:
                rate = done / (time.perf_counter() - started)
                print(f"  {done:>10,} events seeded ({rate:,.0f}/s)", flush=True)
        last = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        AuditChainHead.objects.filter(pk=head.pk).update(last_event_id=last[0], last_hash=last[1])
        audit.record(
            actor="benchmarks/audit_export.py",
            action=SEED_AUDIT_ACTION,
            after={"events": missing, "random_seed": seed, "step_seconds": STEP_SECONDS},
        )
    return time.perf_counter() - started


def bench_admin():
    from django.contrib.auth.models import Group, User

    from governance import access

    user, created = User.objects.get_or_create(
        username=ADMIN_USERNAME, defaults={"email": f"{ADMIN_USERNAME}@bench.example.com"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=access.ROLE_REGISTRY_ADMINS))
    return user


def small_period(rows: int) -> tuple[str, str] | None:
    """The oldest whole days holding about `rows` events, as ISO dates."""
    from django.utils import timezone

    from governance.models import AuditEvent

    times = AuditEvent.objects.order_by("occurred_at").values_list("occurred_at", flat=True)
    oldest = times.first()
    nth = times[rows : rows + 1].first()
    if oldest is None or nth is None:
        return None
    start = timezone.localdate(oldest)
    end = max(start, timezone.localdate(nth) - timedelta(days=1))
    return start.isoformat(), end.isoformat()


def max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def use_reference_code() -> None:
    """Make this process export with the model-based code issue #17 replaced
    (tests/governance/export_reference.py, kept for the byte-for-byte tests), through the
    same report writer."""
    from governance import exports
    from tests.governance import export_reference

    exports.iter_batches = export_reference.iter_batches
    exports.jsonl_chunks = export_reference.jsonl_chunks
    exports.csv_chunks = export_reference.csv_chunks


def measure(fmt: str, period: str, code: str = "new", traced: bool = False) -> dict:
    """One case, in this (fresh) process: a timed pass, then (if `traced`) a tracemalloc
    pass."""
    import tempfile
    import tracemalloc
    from datetime import date

    from django.utils import timezone

    from governance.reports import audit_export
    from governance.reports.scope import ReportScope

    if code == "old":
        use_reference_code()

    user = bench_admin()
    scope = ReportScope()
    if period != "all":
        start, end = period.split(":")
        scope = ReportScope(
            period_start=date.fromisoformat(start), period_end=date.fromisoformat(end)
        )
    t0 = time.perf_counter()
    rows = audit_export.events_for(user, scope).count()
    count_seconds = time.perf_counter() - t0
    calls = []

    def run() -> int:
        with tempfile.TemporaryFile() as out:
            audit_export.write(
                user=user,
                scope=scope,
                fmt=fmt,
                progress=lambda p, m: calls.append(p),
                out=out,
                now=timezone.now(),
            )
            return out.tell()

    baseline = max_rss_kib()
    wall, cpu = time.perf_counter(), time.process_time()
    size = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss_growth = max_rss_kib() - baseline
    progress_calls = len(calls)
    traced_peak = None
    if traced:
        tracemalloc.start()
        run()
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {
        "code": code,
        "load": os.getloadavg()[0],
        "format": fmt,
        "period": period,
        "rows": rows,
        "count_seconds": count_seconds,
        "seconds": wall,
        "cpu_seconds": cpu,
        "bytes": size,
        "progress_calls": progress_calls,
        "rss_baseline_kib": baseline,
        "rss_growth_kib": rss_growth,
        "traced_peak_bytes": traced_peak,
    }


def run_case(fmt: str, period: str, code: str, traced: bool) -> dict:
    command = [sys.executable, __file__, "--measure", fmt, "--period", period, "--code", code]
    command += ["--tracemalloc"] if traced else []
    result = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    if result.returncode != 0:
        raise SystemExit(f"measuring {fmt} {period} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


GOAL_ROWS_PER_SECOND = 100_000  # issue #17, for 1,000,000 events, each engine and format


def print_result(r: dict) -> None:
    peak = r["rss_baseline_kib"] + r["rss_growth_kib"]
    traced = r["traced_peak_bytes"]
    print(
        f"{r['label']:<26} {r['code']:<4} {r['format']:<5} {r['rows']:>9,} "
        f"{r['seconds']:>6.1f} {r['cpu_seconds']:>6.1f} {r['rows'] / r['seconds']:>8,.0f} "
        f"{r['rows'] / r['cpu_seconds']:>10,.0f} {r['bytes'] / 1e6:>7.1f} "
        f"{r['rss_baseline_kib'] / 1024:>5.0f} -> {peak / 1024:<5.0f} "
        f"{'' if traced is None else f'{traced / 2**20:.1f}':>9} {r['load']:>5.1f}",
        flush=True,
    )


def print_verdicts(results: list[dict], database: str) -> None:
    """Per format: the new code's best rate on the largest case against the goal, its ratio
    to the old code's in the same run, and whether memory grew with the rows."""
    print(f"Verdicts ({database}):")
    for fmt in dict.fromkeys(r["format"] for r in results):
        mine = [r for r in results if r["format"] == fmt]
        largest = max(r["rows"] for r in mine)
        new = [r for r in mine if r["code"] == "new" and r["rows"] == largest]
        old = [r for r in mine if r["code"] == "old" and r["rows"] == largest]
        if not new:
            continue
        best = max(new, key=lambda r: r["rows"] / r["seconds"])
        rate, cpu_rate = best["rows"] / best["seconds"], best["rows"] / best["cpu_seconds"]
        met = "MET" if rate >= GOAL_ROWS_PER_SECOND and largest >= 1_000_000 else "NOT MET"
        line = (
            f"  {fmt}: {rate:,.0f} rows/s wall, {cpu_rate:,.0f} rows/s CPU "
            f"(load {best['load']:.1f}) on {largest:,} rows; goal {GOAL_ROWS_PER_SECOND:,} "
            f"rows/s for 1,000,000: {met}"
        )
        if old:
            o = max(old, key=lambda r: r["rows"] / r["seconds"])
            old_rate, old_cpu = o["rows"] / o["seconds"], o["rows"] / o["cpu_seconds"]
            line += (
                f"; old code {old_rate:,.0f} rows/s wall, {old_cpu:,.0f} CPU (load "
                f"{o['load']:.1f}): new/old x{rate / old_rate:.1f} wall, "
                f"x{cpu_rate / old_cpu:.1f} CPU"
            )
        growth = {r["rows"]: r["rss_growth_kib"] / 1024 for r in mine if r["code"] == "new"}
        if len(growth) > 1:
            (small, small_mib), (big, big_mib) = min(growth.items()), max(growth.items())
            flat = "constant" if big_mib <= small_mib + 16 else "GROWS"
            line += (
                f"; memory {flat}: RSS +{small_mib:.0f} MiB at {small:,} rows, "
                f"+{big_mib:.0f} MiB at {big:,}"
            )
        print(line)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to hold at least")
    parser.add_argument(
        "--small", type=int, default=100_000, help="events in the period case (0: skip it)"
    )
    parser.add_argument("--formats", default="jsonl,csv")
    parser.add_argument("--batch", type=int, default=5000, help="events per bulk insert")
    parser.add_argument("--seed", type=int, default=7, help="random seed (reproducible data)")
    parser.add_argument("--force", action="store_true", help="seed into a non-benchmark database")
    parser.add_argument(
        "--codes",
        default="old,new",
        help="old: the model-based export issue #17 replaced; new: export_format (interleaved)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds per case")
    parser.add_argument("--skip-all", action="store_true", help="only the --small period case")
    parser.add_argument("--tracemalloc", action="store_true", help="also a tracemalloc pass")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--period", default="all", help=argparse.SUPPRESS)
    parser.add_argument("--code", default="new", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    django_setup()
    if args.measure:
        print(json.dumps(measure(args.measure, args.period, args.code, args.tracemalloc)))
        return 0

    from django.core.management import call_command
    from django.db import connection, transaction
    from seed import existing_data

    from governance.models import AuditEvent

    print(f"Database: {describe_database()}")
    _seeded, other = existing_data(connection)
    if other and not args.force:
        print(
            "Refusing: this database holds data that is not from the benchmarks. Point "
            "ATTEST_VAR_DIR or DATABASE_URL at a scratch database, or pass --force.",
            file=sys.stderr,
        )
        return 2
    call_command("migrate", verbosity=0, interactive=False)
    bench_admin()
    present = AuditEvent.objects.count()
    if present < args.events:
        missing = args.events - present
        print(f"Seeding {missing:,} audit events ({present:,} present)")
        seconds = seed_events(missing, batch=args.batch, seed=args.seed)
        print(f"Seeded in {seconds:.1f}s")
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # longer than the statement timeout
                cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute(f"ANALYZE {AuditEvent._meta.db_table}")
    total = AuditEvent.objects.count()
    print(f"{total:,} audit events in the database")

    cases = [] if args.skip_all else [("all", "every event")]
    if args.small:
        period = small_period(args.small)
        if period:
            cases.insert(0, (":".join(period), f"{period[0]} to {period[1]}"))
    header = (
        f"{'case':<26} {'code':<4} {'fmt':<5} {'rows':>9} {'wall s':>6} {'cpu s':>6} "
        f"{'rows/s':>8} {'cpu rows/s':>10} {'file MB':>7} {'maxrss MiB':>13} {'trace MiB':>9} "
        f"{'load':>5}"
    )
    print(header)
    results = []
    for period, label in cases:
        for _round in range(args.rounds):
            for fmt in args.formats.split(","):
                for code in args.codes.split(","):
                    r = run_case(fmt, period, code, args.tracemalloc)
                    r["label"] = label
                    results.append(r)
                    print_result(r)
    print(
        "rows/s: rows / wall seconds; cpu rows/s: rows / CPU seconds of the exporting process; "
        "maxrss: the process's peak resident memory after start-up -> after the export (a fresh "
        "process per line); trace: peak of Python allocations (--tracemalloc); load: the 1-minute "
        "load average when the line was measured."
    )
    print_verdicts(results, describe_database())
    return 0


if __name__ == "__main__":
    sys.exit(main())
