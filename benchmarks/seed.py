#!/usr/bin/env python
"""Seed a benchmark database with registered models, versions, metrics and grants.

    .venv/bin/python benchmarks/seed.py --models 100000 --versions-per-model 10

Writes to var/bench/attest.sqlite3 by default (ATTEST_VAR_DIR=var/bench), or to the
PostgreSQL database named by DATABASE_URL. Rows go in with executemany (SQLite) or COPY
(PostgreSQL) in one transaction, with every constraint, foreign key and FTS trigger in
place, and the run records one audit event ("benchmark.seed") in that same transaction.
It refuses to write into a database that holds anything but benchmark data unless --force.

Accounts (no password; the search benchmark logs in with force_login):
  bench_ds       Data scientists + the first team: sees that team's models through the
                 team's grants, plus its own creator grants and some shared from other teams
  bench_admin    Registry admins: registry-wide view
  bench_auditor  Auditors: registry-wide view, read-only
"""

import argparse
import bisect
import itertools
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ADMIN_USERNAME,
    AUDITOR_USERNAME,
    BENCH_PREFIX,
    DS_USERNAME,
    SEED_ACTION,
    describe_database,
    django_setup,
)


def _words(text: str) -> list[str]:
    return text.split()


TEAMS = [
    "Fraud analytics",
    "Credit risk",
    "Customer insights",
    "Forecasting",
    "Operations research",
    "Vision",
    "Language",
    "Pricing",
]
USERS_PER_TEAM = 10

# Name parts: <domain>-<object>-<task>-<n>
DOMAINS = _words(
    "fraud card payments credit loan churn retention marketing pricing demand supply "
    "inventory claims underwriting aml kyc support search ads risk collections sales "
    "logistics routing energy maintenance quality hr security identity document speech"
)
OBJECTS = _words(
    "transaction customer merchant account application invoice order session basket "
    "ticket email call image review claim device shipment store product policy "
    "subscriber lead campaign route sensor contract"
)
TASKS = _words(
    "classifier scorer ranker forecaster detector recommender regressor segmenter "
    "embedder extractor estimator predictor matcher tagger"
)
ALGOS = (
    "Gradient-boosted",
    "Logistic regression",
    "Random forest",
    "Transformer-based",
    "Two-tower neural",
    "Bayesian",
    "Linear",
    "Stacked ensemble",
    "Convolutional",
    "Temporal fusion",
)
VERBS = ("scores", "predicts", "ranks", "flags", "estimates", "classifies", "forecasts")
# Filler vocabulary in rough frequency order (a Zipf draw over it gives common and rare
# words); "customer" is common, "transaction"/"transactions" share the prefix "transa".
VOCABULARY = _words(
    "model customer data features trained daily batch production monthly customers "
    "transaction score threshold evaluation holdout team weekly churn latency online "
    "transactions label labels drift retrained calibration fairness pipeline segment "
    "europe region mobile web baseline campaign feature store window rolling history "
    "seasonal cohort propensity probability review manual approval monitoring alert "
    "dashboard quarterly annual exposure default balance merchant network graph embedding "
    "text images audio sensor telemetry shipment warehouse supplier forecast horizon "
    "uplift experiment treatment control bias explainability shap counterfactual "
    "regulated audit lineage retention privacy anonymised pseudonymised consent "
    "oversampling imbalance recall precision ranking relevance clickthrough conversion "
    "basket recommendation session cold start fallback rules heuristic override "
    "champion challenger shadow canary rollback latency budget gpu cpu quantised "
    "distilled pruned onnx export serving endpoint streaming kafka spark snowflake "
    "bigquery postgres parquet delta iceberg nightly hourly backfill reprocessing"
)
RARE_WORD = "heliotrope"  # planted in about one model in 8,000
SYLLABLES = _words("ka lo mi ren tus vor pel dra shi qua zen bri tok fel mur gan sor vil pax oru")

FRAMEWORKS = [
    # name, versions, weight
    ("scikit-learn", ("1.3.2", "1.4.2", "1.5.2"), 30),
    ("xgboost", ("1.7.6", "2.0.3", "2.1.1"), 20),
    ("lightgbm", ("4.1.0", "4.5.0"), 15),
    ("pytorch", ("2.2.2", "2.3.1", "2.4.1"), 15),
    ("tensorflow", ("2.15.0", "2.17.0"), 8),
    ("catboost", ("1.2.5",), 5),
    ("statsmodels", ("0.14.2",), 3),
    ("prophet", ("1.1.5",), 2),
    ("onnx", ("1.16.1",), 2),
]
METRIC_SETS = {
    "classifier": ("auc", "precision", "recall", "f1"),
    "scorer": ("auc", "ks", "gini"),
    "detector": ("auc", "precision", "recall"),
    "ranker": ("ndcg_at_10", "map", "mrr"),
    "recommender": ("ndcg_at_10", "hit_rate", "coverage"),
    "forecaster": ("mape", "rmse", "mae"),
    "regressor": ("rmse", "mae", "r2"),
}
DEFAULT_METRICS = ("accuracy", "f1", "latency_ms")
MODEL_TAGS = {
    "pii": ("yes", "no"),
    "regulated": ("eu-ai-act", "gdpr", "sox"),
    "modality": ("tabular", "text", "image", "timeseries"),
    "criticality": ("tier-1", "tier-2", "tier-3"),
    "owner-contact": ("oncall", "slack"),
}
RISK_CLASSES = (("unclassified", 40), ("minimal", 30), ("limited", 20), ("high", 10))
VERSION_TAG_VALUES = {
    "trigger": ("scheduled", "manual", "drift-alert"),
    "git_branch": ("main", "release", "experiment"),
}

YEAR = 365 * 24 * 3600


class Writer:
    """Bulk inserts through the DB-API: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, connection):
        self.connection = connection
        self.vendor = connection.vendor
        connection.ensure_connection()
        self.raw = connection.connection
        self.counts: dict[str, int] = {}

    def timestamp(self, epoch: float):
        value = datetime.fromtimestamp(epoch, UTC)
        # SQLite stores Django's naive-UTC text form; psycopg takes aware datetimes.
        return str(value.replace(tzinfo=None)) if self.vendor == "sqlite" else value

    def insert(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        cols = ", ".join(f'"{c}"' for c in columns)
        if self.vendor == "postgresql":
            copy_sql = f'COPY "{table}" ({cols}) FROM STDIN'
            with self.raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor = self.raw.cursor()
            try:
                cursor.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', rows)
            finally:
                cursor.close()
        self.counts[table] = self.counts.get(table, 0) + len(rows)


def _zipf_sampler(words: list[str], rng: random.Random, exponent: float = 1.05):
    cum = list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, len(words) + 1)))
    total = cum[-1]

    def draw(k: int) -> list[str]:
        return [words[bisect.bisect_left(cum, rng.random() * total)] for _ in range(k)]

    return draw


def _version_counts(n_models: int, per_model: int, rng: random.Random) -> list[int]:
    """Exactly n_models * per_model versions: most models have a handful, a few hundreds."""
    target = n_models * per_model
    counts = [0] * n_models
    n_hot = max(1, n_models // 2000) if n_models >= 20 else 0
    hot_size = min(per_model * 150, max(1, target // 20 // max(n_hot, 1)))
    hot = set(rng.sample(range(n_models), n_hot)) if n_hot else set()
    for i in hot:
        counts[i] = rng.randint(hot_size // 2, hot_size)
    rest = [i for i in range(n_models) if i not in hot]
    remaining = target - sum(counts)
    mean = max(1.0, remaining / max(len(rest), 1))
    upper = max(1, int(2 * mean) - 1)
    for i in rest:
        counts[i] = rng.randint(1, upper)
    diff = target - sum(counts)
    while diff:
        i = rng.choice(rest) if rest else rng.randrange(n_models)
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 1:
            counts[i] -= 1
            diff += 1
    return counts


def _hex(rng: random.Random, chars: int) -> str:
    return f"{rng.getrandbits(chars * 4):0{chars}x}"


class Seeder:
    def __init__(self, args, writer: Writer):
        self.args = args
        self.w = writer
        self.rng = random.Random(args.seed)
        self.draw_words = _zipf_sampler(VOCABULARY + self._pseudo_words(4000), self.rng)
        self.fw_names = [f[0] for f in FRAMEWORKS]
        self.fw_cum = list(itertools.accumulate(f[2] for f in FRAMEWORKS))
        self.risk_cum = list(itertools.accumulate(r[1] for r in RISK_CLASSES))
        self.now = time.time()

    def _pseudo_words(self, n: int) -> list[str]:
        rng = random.Random(self.args.seed + 1)
        words = set()
        while len(words) < n:
            words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))))
        return sorted(words)

    def setup_accounts(self):
        from django.contrib.auth.models import Group, Permission, User

        from governance import access

        teams = []
        for name in TEAMS[: self.args.teams]:
            group, _ = Group.objects.get_or_create(name=name)
            teams.append(group)
        roles = {g.name: g for g in Group.objects.filter(name__in=access.ROLES)}

        def account(username, groups):
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@bench.example.com"}
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            user.groups.add(*groups)
            return user

        ds = account(DS_USERNAME, [roles[access.ROLE_DATA_SCIENTISTS], teams[0]])
        admin = account(ADMIN_USERNAME, [roles[access.ROLE_REGISTRY_ADMINS]])
        auditor = account(AUDITOR_USERNAME, [roles[access.ROLE_AUDITORS]])
        members = {}
        approvers = {}
        for t, team in enumerate(teams):
            slug = team.name.lower().replace(" ", "_")
            users = [
                account(f"{BENCH_PREFIX}{slug}_{i}", [roles[access.ROLE_DATA_SCIENTISTS], team])
                for i in range(1, USERS_PER_TEAM + (0 if t == 0 else 1))
            ]
            if t == 0:
                users.insert(0, ds)
            members[team.pk] = users
            approvers[team.pk] = account(
                f"{BENCH_PREFIX}{slug}_approver", [roles[access.ROLE_APPROVERS]]
            )
        perms = {
            p.codename: p.pk
            for p in Permission.objects.filter(
                content_type__app_label="registry", content_type__model="registeredmodel"
            )
        }
        self.teams, self.members, self.approvers = teams, members, approvers
        self.ds, self.admin, self.auditor = ds, admin, auditor
        self.perm = {a: perms[f"{a}_registeredmodel"] for a in access.ACTIONS}

    def run(self):
        from django.db.models import Max

        from registry.models import ModelVersion, RegisteredModel

        args = self.args
        self.setup_accounts()
        model_id = (RegisteredModel.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        version_id = (ModelVersion.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        counts = _version_counts(args.models, args.versions_per_model, self.rng)
        started = time.perf_counter()
        done = 0
        for start in range(0, args.models, args.chunk):
            chunk = counts[start : start + args.chunk]
            model_id, version_id = self.write_chunk(start, chunk, model_id, version_id)
            done += len(chunk)
            elapsed = time.perf_counter() - started
            versions = self.w.counts.get("registry_modelversion", 0)
            print(
                f"  {done:>9,} models  {versions:>10,} versions  {elapsed:7.1f}s  "
                f"({versions / elapsed:,.0f} versions/s)",
                flush=True,
            )
        return model_id, version_id

    def write_chunk(self, offset: int, counts: list[int], model_id: int, version_id: int):
        rng = self.rng
        ts = self.w.timestamp
        n_teams = len(self.teams)
        models, model_tags, group_grants, user_grants = [], [], [], []
        versions, metrics, params, version_tags, artifacts, aliases = [], [], [], [], [], []
        ds_team = self.teams[0].pk
        share_targets = [u for team_users in self.members.values() for u in team_users]
        for i, n_versions in enumerate(counts):
            index = offset + i
            team = self.teams[index % n_teams]
            creator = rng.choice(self.members[team.pk])
            domain, obj, task = rng.choice(DOMAINS), rng.choice(OBJECTS), rng.choice(TASKS)
            name = f"{domain}-{obj}-{task}-{model_id:06d}"
            algo, verb = rng.choice(ALGOS), rng.choice(VERBS)
            words = self.draw_words(rng.randint(8, 30))
            if index % 8191 == 17:
                words.insert(rng.randrange(len(words) + 1), RARE_WORD)
            description = (
                f"{algo} {task} that {verb} {obj} {domain} events. " + " ".join(words) + "."
            )
            risk = RISK_CLASSES[bisect.bisect_left(self.risk_cum, rng.random() * 100)][0]
            tags = {"domain": domain}
            for key in rng.sample(list(MODEL_TAGS), rng.randint(0, 3)):
                tags[key] = rng.choice(MODEL_TAGS[key])
            created = self.now - rng.random() * 3 * YEAR
            # version times between creation and now, oldest first
            span = self.now - created
            times = sorted(created + rng.random() * span for _ in range(n_versions))
            fw = self.fw_names[bisect.bisect_left(self.fw_cum, rng.random() * self.fw_cum[-1])]
            fw_versions = next(f[1] for f in FRAMEWORKS if f[0] == fw)
            metric_names = METRIC_SETS.get(task, DEFAULT_METRICS)
            repo = f"https://git.example.com/{team.name.lower().replace(' ', '-')}/{domain}-{obj}"
            dataset = f"{domain}-{obj}-events"
            # stages: ~30% have a Production version (earlier ones Archived), ~15% Staging
            production = staging = None
            if n_versions and rng.random() < 0.3:
                production = rng.randint(max(1, n_versions - 3), n_versions)
            if n_versions and rng.random() < 0.15:
                staging = n_versions if production != n_versions else None
            archived_before = production if production and rng.random() < 0.5 else 0
            fw_seen, ds_seen, run_seen, repo_seen, vtag_seen = {}, {}, {}, {}, {}
            champion = None
            for number in range(1, n_versions + 1):
                vfw = fw if rng.random() > 0.05 else rng.choice(self.fw_names)
                run_id = _hex(rng, 32)
                dataset_version = f"{2022 + number // 40}.{number % 12 + 1:02d}"
                if number == production:
                    stage = "Production"
                    champion = version_id
                elif number == staging:
                    stage = "Staging"
                elif number < archived_before and rng.random() < 0.3:
                    stage = "Archived"
                else:
                    stage = "None"
                author = creator if rng.random() < 0.7 else rng.choice(self.members[team.pk])
                when = ts(times[number - 1])
                versions.append(
                    (
                        version_id,
                        model_id,
                        number,
                        stage,
                        "READY",
                        f"Retrained on {dataset} {dataset_version}." if number % 3 == 0 else "",
                        author.pk,
                        when,
                        when,
                        f"mlflow-artifacts:/{name}/{number}/model",
                        run_id,
                        f"https://mlflow.example.com/#/experiments/{index % 997}/runs/{run_id}",
                        repo,
                        _hex(rng, 40),
                        dataset,
                        dataset_version,
                        f"s3://datalake/{dataset}/{dataset_version}/",
                        _hex(rng, 64),
                        vfw,
                        rng.choice(fw_versions) if vfw == fw else "",
                    )
                )
                fw_seen.setdefault(vfw, None)
                ds_seen.setdefault(dataset, None)
                run_seen.setdefault(run_id, None)
                repo_seen.setdefault(repo, None)
                for metric in metric_names:
                    metrics.append((version_id, metric, round(rng.random(), 4), "", 0))
                if number == n_versions:
                    # the latest version: slice metrics, params, tags and artifacts
                    metrics.append((version_id, metric_names[0], round(rng.random(), 4), "test", 0))
                    metrics.append(
                        (version_id, metric_names[0], round(rng.random(), 4), "age>=65", 0)
                    )
                    for key, value in (
                        ("learning_rate", f"{rng.choice((0.01, 0.05, 0.1)):g}"),
                        ("max_depth", str(rng.randint(3, 12))),
                        ("seed", str(rng.randint(1, 9999))),
                    ):
                        params.append((version_id, key, value))
                    for storage, path, size, ctype, status in (
                        ("MLmodel", "MLmodel", 420, "text/yaml", "not_applicable"),
                        ("model.pkl", "model.pkl", rng.randint(10**5, 10**8), "", "clean"),
                    ):
                        artifacts.append(
                            (
                                version_id,
                                path,
                                f"bench/{model_id}/{version_id}/{storage}",
                                size,
                                _hex(rng, 64),
                                ctype,
                                status,
                                "[]",
                                when,
                                when,
                            )
                        )
                if rng.random() < 0.2:
                    for key, values in VERSION_TAG_VALUES.items():
                        value = rng.choice(values)
                        version_tags.append((version_id, key, value))
                        vtag_seen.setdefault(f"{key} {value}", None)
                version_id += 1
            updated = times[-1] if times else created
            parts = [name, description, team.name, creator.username]
            parts += [f"{k} {v}" for k, v in tags.items()]
            for seen in (fw_seen, ds_seen, run_seen, repo_seen):
                parts += list(seen)[:50]
            parts += list(vtag_seen)[:200]
            search_text = " ".join(p for p in parts if p)[:20000]
            models.append(
                (
                    model_id,
                    name,
                    description,
                    team.pk,
                    risk,
                    creator.pk,
                    ts(created),
                    ts(updated),
                    n_versions,
                    search_text,
                )
            )
            model_tags += [(model_id, k, v) for k, v in tags.items()]
            for action in ("view", "change"):  # the owning team (services.TEAM_ACTIONS)
                group_grants.append((model_id, team.pk, self.perm[action]))
            for action in ("view", "change", "manage"):  # the creator (CREATOR_ACTIONS)
                user_grants.append((model_id, self.perm[action], creator.pk))
            approver = self.approvers[team.pk]
            user_grants.append((model_id, self.perm["approve"], approver.pk))
            if team.pk != ds_team and rng.random() < 0.02:  # shared with someone elsewhere
                target = self.ds if rng.random() < 0.5 else rng.choice(share_targets)
                if target.pk != creator.pk:
                    user_grants.append((model_id, self.perm["view"], target.pk))
            if champion is not None:
                aliases.append((model_id, "champion", champion, ts(updated)))
            model_id += 1

        w = self.w
        w.insert(
            "registry_registeredmodel",
            (
                "id",
                "name",
                "description",
                "team_id",
                "risk_class",
                "created_by_id",
                "created_at",
                "updated_at",
                "latest_version_number",
                "search_text",
            ),
            models,
        )
        w.insert("registry_modeltag", ("registered_model_id", "key", "value"), model_tags)
        w.insert(
            "registry_registeredmodelgroupobjectpermission",
            ("content_object_id", "group_id", "permission_id"),
            group_grants,
        )
        w.insert(
            "registry_registeredmodeluserobjectpermission",
            ("content_object_id", "permission_id", "user_id"),
            user_grants,
        )
        w.insert(
            "registry_modelversion",
            (
                "id",
                "registered_model_id",
                "version",
                "stage",
                "status",
                "description",
                "created_by_id",
                "created_at",
                "updated_at",
                "source",
                "run_id",
                "run_link",
                "code_repository",
                "code_commit",
                "dataset_name",
                "dataset_version",
                "dataset_uri",
                "dataset_hash",
                "framework",
                "framework_version",
            ),
            versions,
        )
        w.insert(
            "registry_metric", ("model_version_id", "name", "value", "dataset", "step"), metrics
        )
        w.insert("registry_param", ("model_version_id", "key", "value"), params)
        w.insert("registry_versiontag", ("model_version_id", "key", "value"), version_tags)
        w.insert(
            "registry_artifact",
            (
                "model_version_id",
                "path",
                "storage_name",
                "size",
                "sha256",
                "content_type",
                "scan_status",
                "scan_findings",
                "scanned_at",
                "created_at",
            ),
            artifacts,
        )
        w.insert(
            "registry_modelalias",
            ("registered_model_id", "alias", "model_version_id", "updated_at"),
            aliases,
        )
        return model_id, version_id


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
