#!/usr/bin/env python
"""Seed a benchmark database with registered models, versions, metrics and grants.

    .venv/bin/python benchmarks/seed.py --models 100000 --versions-per-model 10

Writes to var/bench/attest.sqlite3 by default (ATTEST_VAR_DIR=var/bench), or to the
PostgreSQL database named by DATABASE_URL. Rows go in with executemany (SQLite) or COPY
(PostgreSQL) in one transaction, with every constraint, foreign key and FTS trigger in
place, and the run records one audit event ("benchmark.seed") in that same transaction.
It refuses to write into a database that holds anything but benchmark data unless --force.
What the rows are made of is in seed_data.py; how they are generated and written, seed_rows.py.

Accounts (no password; the search benchmark logs in with force_login):
  bench_ds       Data scientists + the first team: sees that team's models through the
                 team's grants, plus its own creator grants and some shared from other teams
  bench_admin    Registry admins: registry-wide view
  bench_auditor  Auditors: registry-wide view, read-only
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_PREFIX, SEED_ACTION, describe_database, django_setup  # noqa: E402
from seed_data import TEAMS  # noqa: E402
from seed_rows import Seeder, Writer  # noqa: E402


def existing_data(connection) -> tuple[bool, bool]:
    """(holds benchmark data, holds anything else), asked before migrating anything, in
    plain SQL so that pending migrations do not matter."""
    tables = set(connection.introspection.table_names())

    def any_row(table: str, where: str = "", params=()) -> bool:
        if table not in tables:
            return False
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} {where} LIMIT 1", params)
            return cursor.fetchone() is not None

    seeded = any_row("governance_auditevent", "WHERE action = %s", [SEED_ACTION])
    prefix = BENCH_PREFIX.replace("_", "\\_") + "%"
    other_users = any_row("auth_user", "WHERE username NOT LIKE %s ESCAPE '\\'", [prefix])
    other_models = any_row("registry_registeredmodel") and not seeded
    return seeded, other_users or other_models


def finish(connection) -> None:
    """Refresh planner statistics and compact the full-text index after the bulk load."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO registry_model_fts(registry_model_fts) VALUES('optimize')")
            cursor.execute("ANALYZE")
        else:
            # what autovacuum would get to soon: visibility map (index-only scans) and stats
            cursor.execute("VACUUM ANALYZE")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--versions-per-model", type=int, default=10)
    parser.add_argument("--teams", type=int, default=4, choices=range(1, len(TEAMS) + 1))
    parser.add_argument("--chunk", type=int, default=2000, help="models per insert batch")
    parser.add_argument("--seed", type=int, default=42, help="random seed (reproducible data)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="write even if the database already holds other or earlier benchmark data",
    )
    args = parser.parse_args(argv)
    if args.models < 1 or args.versions_per_model < 1 or args.chunk < 1:
        parser.error("--models, --versions-per-model and --chunk must be at least 1")

    django_setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from governance import audit, request_context

    print(f"Database: {describe_database()}")
    t0 = time.perf_counter()
    seeded, other = existing_data(connection)
    if other and not args.force:
        print(
            "Refusing: this database holds data that is not from the benchmark seed. "
            "Point ATTEST_VAR_DIR or DATABASE_URL at a scratch database, or pass --force.",
            file=sys.stderr,
        )
        return 2
    if seeded and not args.force:
        print(
            "Refusing: this database is already seeded. Delete it (or drop and re-create the "
            "PostgreSQL database) to seed again, or pass --force to add more models.",
            file=sys.stderr,
        )
        return 2

    call_command("migrate", verbosity=0, interactive=False)
    total_versions = args.models * args.versions_per_model
    print(f"Seeding {args.models:,} models, {total_versions:,} versions, {args.teams} teams")
    writer = Writer(connection)
    with request_context.audit_context(source="cli"), transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB page cache for the load
            else:
                # check foreign keys per statement, so the deferred-check queue stays small
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        seeder = Seeder(args, writer)
        seeder.run()
        if connection.vendor == "postgresql":
            from django.core.management.color import no_style

            from registry.models import ModelVersion, RegisteredModel

            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(
                    no_style(), [RegisteredModel, ModelVersion]
                ):
                    cursor.execute(sql)
        counts = {table.removeprefix("registry_"): n for table, n in sorted(writer.counts.items())}
        audit.record(
            actor="benchmarks/seed.py",
            action=SEED_ACTION,
            after={
                "rows": counts,
                "teams": [t.name for t in seeder.teams],
                "versions_per_model": args.versions_per_model,
                "random_seed": args.seed,
            },
        )
    load_seconds = time.perf_counter() - t0
    print(f"Committed in {load_seconds:.1f}s; analysing and optimising the search index…")
    finish(connection)
    elapsed = time.perf_counter() - t0
    for table, n in counts.items():
        print(f"  {table:<36} {n:>12,}")
    print(f"Done in {elapsed:.1f}s ({elapsed / 60:.1f} min).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
