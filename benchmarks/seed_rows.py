"""The rows of a benchmark database: `Writer` (executemany on SQLite, COPY on PostgreSQL) and
`Seeder`, which generates teams, users, models, versions, metrics, tags, aliases and grants.
Used by benchmarks/seed.py.
"""

import bisect
import itertools
import random
import time
from datetime import UTC, datetime

from common import ADMIN_USERNAME, AUDITOR_USERNAME, BENCH_PREFIX, DS_USERNAME
from seed_data import (
    ALGOS,
    DEFAULT_METRICS,
    DOMAINS,
    FRAMEWORKS,
    METRIC_SETS,
    MODEL_TAGS,
    OBJECTS,
    RARE_WORD,
    RISK_CLASSES,
    SYLLABLES,
    TASKS,
    TEAMS,
    USERS_PER_TEAM,
    VERBS,
    VERSION_TAG_VALUES,
    VOCABULARY,
    YEAR,
    _hex,
    _version_counts,
    _zipf_sampler,
)


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
