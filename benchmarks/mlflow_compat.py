#!/usr/bin/env python
"""MLflow's own tests against Attest and `mlflow server`, only the client fixtures changed.

    PYTHONPATH=/tmp/wt_site:. .venv/bin/python benchmarks/mlflow_compat.py            # both servers
    ... benchmarks/mlflow_compat.py --server attest --module registry -k alias  # while fixing

What it does (docs/api.md, "Compatibility with MLflow's own tests"):

1. Exports `tests/` and `pyproject.toml` of an upstream MLflow checkout (default: the bare
   mirror at /work/.mirror/harupy+mlflow/repo, HEAD) into a temp dir OUTSIDE the project.
   No upstream code is copied into Attest.
2. Runs tests/tracking/test_model_registry.py and the core-tracking part of
   tests/tracking/test_rest_tracking.py (experiments, runs, metrics, params, tags, artifacts,
   inputs, logged models; CORE_TRACKING below leaves out traces, GraphQL, gateway, secrets,
   scorers, evaluation datasets, issues) against
   (a) `mlflow server` of the venv's mlflow version: the upstream `client` fixtures as they
       are (an in-thread MLflow server on a fresh SQLite database per test);
   (b) Attest: a second copy of the tests whose `client` / `mlflow_client` fixture bodies are
       rewritten (ast, at run time) to start one Attest gunicorn per test on a copy of a
       migrated SQLite template with a data scientist and a write token
       (benchmarks/mlflow_compat_server.py).
3. Compares the per-test outcomes (junit xml) and prints: passed on both, failing on Attest
   only (what to fix or list as a governed refusal), failing on both (version skew between
   the upstream tests and the pinned client/server), failing on mlflow server only.
"""

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MIRROR = "/work/.mirror/harupy+mlflow/repo"
MODULES = {
    "registry": "tests/tracking/test_model_registry.py",
    "tracking": "tests/tracking/test_rest_tracking.py",
}
CORE_TRACKING = (
    "not (graphql or trace or promptlab or gateway or assessment or evaluation or scorer"
    " or scoring or secret or endpoint or provider or model_definition or issue"
    " or suppress_url or workspace or dataset_to_experiments or dataset_from_experiments"
    " or experiments_at_once or dataset_experiment_association or idempotent"
    " or add_remove_experiments or test_list_models)"
)

ATTEST_BODY = {
    "client": [
        'if request.param == "file":',
        '    pytest.skip("FileStore is no longer supported.")',
        "from mlflow_compat_server import attest_server",
        "with attest_server(tmp_path) as url:",
        "    yield MlflowClient(url)",
    ],
    "mlflow_client": [
        "from mlflow_compat_server import attest_server",
        "with attest_server(tmp_path) as url:",
        "    yield MlflowClient(url)",
    ],
}


def export_tests(mirror: str, rev: str, dest: Path) -> None:
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", f"--git-dir={mirror}", "archive", rev, "tests", "pyproject.toml"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def point_fixtures_at_attest(path: Path) -> None:
    """Replace the bodies of the `client` / `mlflow_client` fixtures, keep their signatures."""
    lines = path.read_text().splitlines()
    for node in sorted(ast.parse("\n".join(lines)).body, key=lambda n: -n.lineno):
        if isinstance(node, ast.FunctionDef) and node.name in ATTEST_BODY:
            start, end = node.body[0].lineno - 1, node.end_lineno
            indent = " " * node.body[0].col_offset
            lines[start:end] = [indent + line for line in ATTEST_BODY[node.name]]
    path.write_text("\n".join(lines) + "\n")


def build_template(dest: Path) -> None:
    """A migrated Attest SQLite database with a data scientist and a write token."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from mlflow_compat_server import server_env

    dest.mkdir(parents=True)
    (dest / "staticfiles").mkdir()
    env = server_env(dest)
    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    setup = (
        "from django.contrib.auth.models import Group, User\n"
        "u = User.objects.create_user('compat_ds', 'ds@example.com', 'x')\n"
        "for g in ('Data scientists', 'Compat team'):\n"
        "    u.groups.add(Group.objects.get_or_create(name=g)[0])\n"
    )
    subprocess.run([*manage, "shell", "-c", setup], env=env, check=True, cwd=ROOT)
    token = subprocess.run(
        [*manage, "create_api_token", "compat_ds", "--name", "compat"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (dest / "token").write_text(token)


def run_pytest(tests_dir: Path, module: str, junit: Path, select: str | None, env: dict) -> None:
    cmd = [PY, "-m", "pytest", MODULES[module], "-q", "-p", "no:cacheprovider", "-rN", "--color=no"]
    cmd += ["-p", "mlflow_compat_server"]
    cmd += ["--junit-xml", str(junit), "-o", "junit_family=xunit2"]
    expr = [e for e in (CORE_TRACKING if module == "tracking" else None, select) if e]
    if expr:
        cmd += ["-k", " and ".join(f"({e})" for e in expr)]
    subprocess.run(cmd, cwd=tests_dir, env=env, check=False)


def outcomes(junit: Path) -> dict[str, str]:
    result = {}
    if not junit.exists():
        return result
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name")
        kinds = {child.tag for child in case}
        if "skipped" in kinds:
            result[name] = "skipped"
        elif kinds & {"failure", "error"}:
            result[name] = "failed"
        else:
            result[name] = "passed"
    return result


def compare(mlflow: dict[str, str], attest: dict[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {
        "passed on both": [],
        "failing on Attest only": [],
        "failing on both (version skew)": [],
        "failing on mlflow server only": [],
        "skipped": [],
    }
    for name in sorted(set(mlflow) | set(attest)):
        m, a = mlflow.get(name, "missing"), attest.get(name, "missing")
        if "skipped" in (m, a):
            groups["skipped"].append(name)
        elif m == a == "passed":
            groups["passed on both"].append(name)
        elif m == "passed":
            groups["failing on Attest only"].append(name)
        elif a == "passed":
            groups["failing on mlflow server only"].append(name)
        else:
            groups["failing on both (version skew)"].append(name)
    return groups


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default=MIRROR, help="upstream MLflow git dir")
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--server", choices=("both", "attest", "mlflow"), default="both")
    parser.add_argument("--module", choices=("both", *MODULES), default="both")
    parser.add_argument("-k", dest="select", help="extra pytest -k expression")
    parser.add_argument("--workdir", help="keep everything here (default: a temp dir)")
    parser.add_argument("--json", help="write the per-test outcomes here")
    args = parser.parse_args()

    import mlflow

    work = Path(args.workdir or tempfile.mkdtemp(prefix="attest-mlflow-compat-"))
    work.mkdir(parents=True, exist_ok=True)
    servers = ("mlflow", "attest") if args.server == "both" else (args.server,)
    modules = tuple(MODULES) if args.module == "both" else (args.module,)
    rev = subprocess.run(
        ["git", f"--git-dir={args.mirror}", "rev-parse", args.rev],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"upstream {args.mirror} @ {rev[:12]}, client/server mlflow {mlflow.__version__}")
    print(f"work dir {work}")

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DJANGO_"))}
    base_env.pop("PYTHONPATH", None)
    if "attest" in servers:
        build_template(work / "template")
    results: dict[str, dict[str, dict[str, str]]] = {}
    for server in servers:
        tests_dir = work / f"tests-{server}"
        if not tests_dir.exists():
            export_tests(args.mirror, rev, tests_dir)
            if server == "attest":
                for module in MODULES.values():
                    point_fixtures_at_attest(tests_dir / module)
        env = dict(base_env, PYTHONPATH=str(ROOT / "benchmarks"))
        if server == "attest":
            env |= {
                "ATTEST_COMPAT_ROOT": str(ROOT),
                "ATTEST_COMPAT_TEMPLATE": str(work / "template"),
                "ATTEST_COMPAT_SITE": os.environ.get("ATTEST_COMPAT_SITE", "/tmp/wt_site"),
                "ATTEST_COMPAT_LOGS": str(work / "logs"),
            }
            (work / "logs").mkdir(exist_ok=True)
        for module in modules:
            junit = work / f"{server}-{module}.xml"
            started = time.monotonic()
            run_pytest(tests_dir, module, junit, args.select, env)
            results.setdefault(module, {})[server] = outcomes(junit)
            took = time.monotonic() - started
            print(f"[{server} {module}] {took:.0f}s, load {os.getloadavg()[0]:.2f}")

    summary = {}
    for module in modules:
        print(f"\n== {MODULES[module]} ==")
        per = results[module]
        for server in servers:
            counts = {}
            for outcome in per[server].values():
                counts[outcome] = counts.get(outcome, 0) + 1
            print(f"  {server:7s} {counts}")
        if len(servers) == 2:
            groups = compare(per["mlflow"], per["attest"])
            summary[module] = groups
            for title, names in groups.items():
                print(f"  {title}: {len(names)}")
                if title in ("failing on Attest only", "failing on mlflow server only"):
                    for name in names:
                        print(f"      {name}")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
