#!/usr/bin/env python
"""Time, and optionally profile, the MLflow API calls in process (no HTTP, no client).

    .venv/bin/python benchmarks/mlflow_profile.py                          # medians per call
    .venv/bin/python benchmarks/mlflow_profile.py --profile get_model_version --top 40

A scratch SQLite database in a temporary directory, the production settings (DEBUG off),
one user with a read-write token, one model with --versions versions created through the
API, then 60 calls of each endpoint of benchmarks/mlflow_workload.py through Django's test
client (the whole middleware chain and view). After each call the script does what the
WSGI handler does at the end of a request (close_old_connections), so CONN_MAX_AGE applies
as in production. --profile CALL runs that call under cProfile and prints the functions
with the largest cumulative time (--dump FILE keeps the stats for pstats or snakeviz).
The load average is printed beside every figure: compare only figures taken together."""

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
P = "/api/2.0/mlflow/"


def setup(tmp: Path):
    os.environ.update(
        ATTEST_VAR_DIR=str(tmp),
        DEBUG="false",
        SECRET_KEY="bench-" + os.urandom(16).hex(),
        STATIC_MANIFEST="false",
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    os.environ.pop("DATABASE_URL", None)
    (tmp / "staticfiles").mkdir(parents=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from governance.models import PersonalToken
    from governance.request_context import audit_context
    from governance.services.tokens import token_create

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench_mlflow", "b@example.com", "x")
    for name in ("Data scientists", "Benchmark team"):
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    with audit_context(source="cli"):
        return token_create(actor=user, name="bench", scope=PersonalToken.Scope.WRITE)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--profile", default="", help="the call to run under cProfile")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", default="", help="write the profile's stats to this file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="attest-mlflow-profile-"))
    try:
        token = setup(tmp)
        from django.db import close_old_connections
        from django.test import Client

        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

        def post(path, body):
            response = client.post(P + path, json.dumps(body), content_type="application/json")
            close_old_connections()
            assert response.status_code == 200, response.content
            return response

        def get(path, **query):
            response = client.get(P + path, query)
            close_old_connections()
            assert response.status_code == 200, response.content
            return response

        n = args.versions
        post("registered-models/create", {"name": "m", "tags": [{"key": "team", "value": "b"}]})
        calls = {
            "create_model_version": lambda i: post(
                "model-versions/create",
                {
                    "name": "m",
                    "source": f"s3://b/m/{i}",
                    "tags": [
                        {"key": "batch", "value": str(i % 10)},
                        {"key": "purpose", "value": "benchmark"},
                    ],
                },
            ),
            "get_registered_model": lambda i: get("registered-models/get", name="m"),
            "get_model_version": lambda i: get(
                "model-versions/get", name="m", version=str(1 + i % n)
            ),
            "set_model_version_tag": lambda i: post(
                "model-versions/set-tag",
                {"name": "m", "version": str(1 + i % n), "key": "seen", "value": str(i)},
            ),
            "set_registered_model_alias": lambda i: post(
                "registered-models/alias",
                {"name": "m", "alias": "bench", "version": str(1 + i % n)},
            ),
            "get_model_version_by_alias": lambda i: get(
                "registered-models/alias", name="m", alias="bench"
            ),
            "search_model_versions(name, 100)": lambda i: get(
                "model-versions/search", filter="name = 'm'", max_results=100
            ),
            "search_model_versions(tag)": lambda i: get(
                "model-versions/search",
                filter=f"name = 'm' AND tags.batch = '{i % 10}'",
                max_results=200,
            ),
            "search_model_versions(source_path)": lambda i: get(
                "model-versions/search", filter=f"source_path = 's3://b/m/{i % n}'"
            ),
            "search_registered_models": lambda i: get(
                "registered-models/search", filter="name LIKE 'm%'"
            ),
        }
        for name, call in calls.items():
            count = n if name == "create_model_version" else args.calls
            profile = cProfile.Profile() if name == args.profile else None
            times = []
            for i in range(count):
                started = time.perf_counter()
                if profile:
                    profile.enable()
                call(i)
                if profile:
                    profile.disable()
                times.append((time.perf_counter() - started) * 1000)
            print(
                f"{name:36} median {statistics.median(times):7.2f} ms  best {min(times):7.2f} ms"
                f"  (load average {os.getloadavg()[0]:.2f})"
            )
            if profile:
                if args.dump:
                    profile.dump_stats(args.dump)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
