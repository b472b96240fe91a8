"""Time restrict() on the MLflow get-model-version lookup, before and after the rights cache
(issue #17), interleaved in one process.

    python benchmarks/restrict_timing.py [--models 200] [--rounds 7] [--calls 300]

"before" is governance/access.py as it was before the package split (read from git, so
the comparison needs no second checkout); "after" is governance.access. Each round times,
for both, interleaved:

- `restrict()`: the call alone (deciding the scope and building the queryset), as the
  first check of a request (a fresh user object, nothing remembered) and as a later
  check in the same request (what the request remembered is reused);
- the model-wide test (`_model_wide`) alone, first and later in a request;
- the whole lookup of `mlflow_api`'s `_model()`: restrict, build, compile, run, per call;
- and, for the split, compiling that query's SQL and running the SQL alone.

Every figure is printed with the load average; the verdict compares the medians of
interleaved rounds only. The database is a throw-away test database (SQLite in memory,
or DATABASE_URL's server with a test_ prefix).
"""

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import ROOT, django_setup  # noqa: E402

BEFORE_COMMIT = "648f9eb"  # the last commit with governance/access.py as one module


def load_before():
    source = subprocess.run(
        ["git", "show", f"{BEFORE_COMMIT}:governance/access.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(os.environ["ATTEST_VAR_DIR"]) / "access_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("access_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed(n_models: int):
    from django.contrib.auth.models import Group, User

    from governance import access
    from governance.request_context import audit_context
    from registry.services import model_create

    team = Group.objects.create(name="Bench team")
    owner = User.objects.create_user("bench_owner", password="x")
    owner.groups.add(Group.objects.get(name=access.ROLE_DATA_SCIENTISTS), team)
    reader = User.objects.create_user("bench_reader", password="x")
    reader.groups.add(Group.objects.get(name=access.ROLE_DATA_SCIENTISTS))
    with audit_context(source="cli"):
        models = [
            model_create(actor=owner, name=f"bench-model-{i}", team=team) for i in range(n_models)
        ]
    from django.db import transaction

    with transaction.atomic(), audit_context(source="cli"):
        for m in models[::2]:
            access.grant(m, "view", user=reader)
    return reader, models


def per_call(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6  # microseconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("ATTEST_VAR_DIR", str(ROOT / "var" / "bench"))
    django_setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from benchmarks.common import describe_database
    from governance import access
    from governance.access import cache
    from registry.models import RegisteredModel

    before = load_before()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        reader, models = seed(args.models)
        name = models[len(models) // 2].name  # a model the reader was granted
        print(f"{describe_database()}, {args.models} models, {args.calls} calls per figure")

        def fresh_user():
            return User.objects.get(pk=reader.pk)

        def restrict_with(module):
            def run(user):
                return module.RestrictedQuerySet.restrict(
                    RegisteredModel.objects.all(), user, "view", few_rows=True
                )

            return run

        impls = {"before": restrict_with(before), "after": restrict_with(access)}
        wide = {
            "before": lambda u: before._model_wide(
                u, RegisteredModel, before._codenames_granting("view", RegisteredModel)
            ),
            "after": lambda u: access._model_wide(
                u, RegisteredModel, access._codenames_granting("view", RegisteredModel)
            ),
        }

        def lookup(restrict, user):
            qs = restrict(user).select_related("created_by", "team").filter(name=name)
            return qs.first()

        results: dict[str, list[float]] = {}

        def note(key, value):
            results.setdefault(key, []).append(value)

        users = [fresh_user() for _ in range(args.calls)]
        for rnd in range(args.rounds):
            for label in ("before", "after") if rnd % 2 == 0 else ("after", "before"):
                restrict = impls[label]
                # First check of a request: a new user object, an empty request scope.
                # The user rows are loaded beforehand (the middleware's query, not ours).
                fresh = [User.objects.get(pk=reader.pk) for _ in range(args.calls)]
                it = iter(fresh)

                def first_check(restrict=restrict, it=it):
                    user = next(it)
                    with cache.remembering():
                        restrict(user)

                note(f"restrict, first in request [{label}]", per_call(first_check, args.calls))
                user = users[0]
                with cache.remembering():
                    restrict(user)
                    note(
                        f"restrict, later in request [{label}]",
                        per_call(lambda r=restrict, u=user: r(u), args.calls),
                    )
                    w = wide[label]
                    note(
                        f"model-wide test, later in request [{label}]",
                        per_call(lambda w=w, u=user: w(u), args.calls),
                    )
                    note(
                        f"_model() lookup, whole [{label}]",
                        per_call(lambda r=restrict, u=user: lookup(r, u), args.calls),
                    )
            # The split of one lookup: compile its SQL, then run the SQL alone.
            with cache.remembering():
                qs = (
                    access.RestrictedQuerySet.restrict(
                        RegisteredModel.objects.all(), users[0], "view", few_rows=True
                    )
                    .select_related("created_by", "team")
                    .filter(name=name)[:1]
                )
                sql, params = qs.query.get_compiler(using="default").as_sql()
                note(
                    "compile the lookup's SQL",
                    per_call(
                        lambda qs=qs: qs.all().query.get_compiler(using="default").as_sql(),
                        args.calls,
                    ),
                )

                def run_sql(sql=sql, params=params):
                    with connection.cursor() as cursor:
                        cursor.execute(sql, params)
                        cursor.fetchall()

                note("run the lookup's SQL alone", per_call(run_sql, args.calls))
            load = os.getloadavg()[0]
            note("load average (1 min)", load)

        print(f"\n{'figure':52} {'median µs/call':>15} {'min':>9}")
        for key, values in results.items():
            print(f"{key:52} {statistics.median(values):15.1f} {min(values):9.1f}")
        loads = ", ".join(f"{x:.2f}" for x in results["load average (1 min)"])
        print(f"load averages per round: {loads}")
        verdicts = []
        for figure in (
            "restrict, first in request",
            "restrict, later in request",
            "model-wide test, later in request",
            "_model() lookup, whole",
        ):
            b = statistics.median(results[f"{figure} [before]"])
            a = statistics.median(results[f"{figure} [after]"])
            verdicts.append(
                f"{figure}: after/before = {a / b:.2f} ({'faster' if a < b else 'NOT faster'})"
            )
        print("\nVerdicts (interleaved medians):")
        print("\n".join(verdicts))
    finally:
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
