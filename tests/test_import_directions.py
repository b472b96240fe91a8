"""The packages import each other in one direction (docs/architecture.md, "Import directions").

Every import statement of every application module is read with `ast`, wherever it is
written: an import inside a function counts as much as one at the top. A forbidden import
fails here naming its file, its line and the rule it breaks.

    config      settings, URLs, the Celery app: may import anything
    controls    control frameworks, evidence rules, readiness, model risk management: may
                import aisystems, governance, registry, core; only config/urls.py imports it
    aisystems   AI systems and their registers (EU AI Act): may import governance, registry,
                core; only controls and config/urls.py import it
    mlflow_api  the MLflow REST API: may import registry, governance, core; only config/urls.py
                imports it
    governance  workflows (services, selectors, views, reports, tasks, admin, demo): may import
                registry (not its views or URLs), its own leaf modules, core
                selectors and governance.rules import no service (their shared rules are
                in governance/rules.py)
    registry    may import core, and of governance only the leaf modules
    leaves      governance.access, .audit, .request_context, .signing, .merkle,
                .object_permissions (the views' object fetch and check), and what they
                import (governance.models, governance.sealing): nothing from registry,
                mlflow_api or the governance workflows
    identity    sign-in (single sign-on): may import core and the governance leaf modules;
                only config (settings, URLs) imports it
    core        web helpers, paging, downloads, the job outbox: imports none of the above
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "config",
    "core",
    "registry",
    "governance",
    "mlflow_api",
    "identity",
    "aisystems",
    "controls",
)
LEAVES = frozenset(
    {
        "governance.access",
        "governance.audit",
        "governance.request_context",
        "governance.signing",
        "governance.merkle",
        "governance.object_permissions",
    }
)
# What the leaves may import from governance themselves: the model classes (which use
# access.RestrictedManager) and the secret sealing they rest on.
LEAF_FOUNDATION = ("governance.models", "governance.sealing")
# Reads and rules: they build on governance.rules, never on the services that write.
RULE_READERS = ("governance.rules", "governance.selectors")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    path: str  # its file, relative to the root
    line: int
    target: str  # the imported module, dotted (a name imported from a package is that module)

    def __str__(self):
        return f"{self.path}:{self.line}: {self.source} imports {self.target}"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str, root: Path) -> bool:
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def read_imports(root: Path = ROOT) -> dict[str, list[Import]]:
    """Every application module's imports of other application modules."""
    graph: dict[str, list[Import]] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            source = _module_name(path, root)
            is_package = path.name == "__init__.py"
            rel = str(path.relative_to(root))
            found = []
            for node in ast.walk(ast.parse(path.read_text(), rel)):
                if isinstance(node, ast.Import):
                    found += [(alias.name, node.lineno) for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        here = source.split(".") if is_package else source.split(".")[:-1]
                        here = here[: len(here) - (node.level - 1)]
                        base = ".".join([*here, base] if base else here)
                    for alias in node.names:
                        sub = f"{base}.{alias.name}"
                        found.append((sub if _is_module(sub, root) else base, node.lineno))
            graph[source] = [
                Import(source, rel, line, target)
                for target, line in dict.fromkeys(found)
                if target.split(".")[0] in PACKAGES
            ]
    return graph


def _within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _parents(name: str) -> list[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ too."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _leaf_closure(graph) -> dict[str, list[str]]:
    """Every module the leaves load, with the chain of imports that reaches it."""
    reached = {leaf: [leaf] for leaf in LEAVES}
    todo = list(LEAVES)
    while todo:
        module = todo.pop()
        for imp in graph.get(module, []):
            for target in [*_parents(imp.target), imp.target]:
                if target in graph and target not in reached:
                    reached[target] = [*reached[module], target]
                    todo.append(target)
    return reached


def violations(root: Path = ROOT) -> list[str]:
    graph = read_imports(root)
    found = []

    def refuse(imp: Import, rule: str):
        found.append(f"{imp}: {rule}")

    for module, imports in graph.items():
        for imp in imports:
            target = imp.target
            if target == module:
                continue
            if _within(target, "mlflow_api") and not _within(module, "mlflow_api", "config.urls"):
                refuse(imp, "nothing imports mlflow_api but config/urls.py")
            if _within(target, "identity") and not _within(module, "identity", "config"):
                refuse(imp, "only config (settings, URLs) wires identity in")
            if _within(module, "identity") and (
                _within(target, "registry", "mlflow_api")
                or (_within(target, "governance") and not _within(target, *LEAVES))
            ):
                refuse(imp, "identity builds only on core and the governance leaf modules")
            if _within(target, "aisystems") and not _within(
                module, "aisystems", "controls", "config.urls"
            ):
                refuse(imp, "nothing imports aisystems but controls and config/urls.py")
            if _within(target, "controls") and not _within(module, "controls", "config.urls"):
                refuse(imp, "nothing imports controls but config/urls.py")
            if _within(module, "core") and _within(
                target,
                "registry",
                "governance",
                "mlflow_api",
                "aisystems",
                "controls",
                "config.urls",
            ):
                refuse(imp, "core imports nothing from registry, governance or mlflow_api")
            if (
                _within(module, "registry")
                and _within(target, "governance")
                and not _within(target, *LEAVES)
            ):
                refuse(
                    imp,
                    "registry may import from governance only its leaf modules "
                    f"({', '.join(sorted(LEAVES))})",
                )
            if not _within(module, "registry", "config.urls") and _within(
                target, "registry.views", "registry.urls"
            ):
                refuse(imp, "registry's views and URLs are its own (shared helpers are in core)")
            if not _within(module, "governance", "config.urls") and _within(
                target, "governance.views", "governance.urls"
            ):
                refuse(imp, "governance's views and URLs are its own")
            if _within(module, *RULE_READERS) and _within(target, "governance.services"):
                refuse(
                    imp,
                    "selectors and rules never import services (the rules both share are in "
                    "governance/rules.py)",
                )
            if ".services" in module and re.search(r"(^|\.)\w*tasks$", target):
                refuse(
                    imp,
                    "services never import task modules (tasks call services; a service "
                    "queues a task by its registered name)",
                )

    closure = _leaf_closure(graph)
    for module, chain in sorted(closure.items()):
        if not _within(module, *LEAVES, *LEAF_FOUNDATION) and module != "governance":
            found.append(
                f"{chain[0]} loads {module} ({' -> '.join(chain)}): the governance leaf "
                f"modules import only each other and {', '.join(LEAF_FOUNDATION)}"
            )
        for imp in graph[module]:
            if _within(imp.target, "registry", "mlflow_api"):
                refuse(
                    imp,
                    "the governance leaf modules import nothing from registry "
                    f"(reached from {' -> '.join(chain)})",
                )
    return found


def cycles(root: Path = ROOT) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a loop (Tarjan)."""
    graph = read_imports(root)
    edges = {m: sorted({i.target for i in imps if i.target in graph}) for m, imps in graph.items()}
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in edges:
        if v not in index:
            visit(v)
    return groups


def test_every_import_goes_the_allowed_direction():
    found = violations()
    assert not found, "Forbidden imports (docs/architecture.md):\n" + "\n".join(found)


def test_no_module_imports_itself_back():
    found = cycles()
    assert not found, "Import cycles (lazy imports count):\n" + "\n".join(
        " <-> ".join(group) for group in found
    )


# The checker itself: each rule, broken in a small tree of its own, is named with its line.


def _tree(tmp_path, files: dict[str, str]) -> Path:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(tmp_path).parents:
            init = tmp_path / parent / "__init__.py"
            if parent.parts and not init.exists():
                init.write_text("")
        path.write_text(text)
    return tmp_path


BASE = {
    "governance/access.py": "import django\n",
    "governance/audit.py": "from governance import request_context\n"
    "from governance.models import E\n",
    "governance/request_context.py": "",
    "governance/signing.py": "",
    "governance/merkle.py": "",
    "governance/object_permissions.py": "from governance import access\n",
    "governance/sealing.py": "",
    "governance/models/__init__.py": "from governance.access import M\n"
    "from governance import sealing\n",
    "governance/services/__init__.py": "",
    "governance/services/reports.py": "from registry.models import Job\n",
    "governance/report_tasks.py": "from governance.services import reports\n",
    "registry/models.py": "from governance.access import RestrictedManager\n",
    "registry/views/__init__.py": "",
    "registry/views/models.py": "from core.web import render_htmx\n",
    "core/web.py": "import django\n",
    "mlflow_api/views.py": "from registry import models\nfrom governance.services import reports\n",
    "config/urls.py": "from mlflow_api import views\nfrom registry.views import models\n",
}


def test_the_checker_passes_a_tree_that_keeps_the_directions(tmp_path):
    root = _tree(tmp_path, BASE)
    assert violations(root) == []
    assert cycles(root) == []


@pytest.mark.parametrize(
    "file, text, expected",
    [
        (
            "registry/selectors.py",
            "x = 1\n\ndef f():\n    from governance.services import reports\n",
            "registry/selectors.py:4: registry.selectors imports governance.services.reports: "
            "registry may import from governance only its leaf modules",
        ),
        (
            "registry/models.py",
            "from governance import audit, policy\n",
            "registry/models.py:1: registry.models imports governance.policy: registry may import",
        ),
        (
            "governance/views.py",
            "from mlflow_api import views\n",
            "governance/views.py:1: governance.views imports mlflow_api.views: nothing imports "
            "mlflow_api",
        ),
        (
            "governance/reports/techdoc.py",
            "def f():\n    from aisystems.models import AISystem\n",
            "governance/reports/techdoc.py:2: governance.reports.techdoc imports "
            "aisystems.models: nothing imports aisystems",
        ),
        (
            "aisystems/services.py",
            "from controls.models import Control\n",
            "aisystems/services.py:1: aisystems.services imports controls.models: nothing "
            "imports controls",
        ),
        (
            "core/web.py",
            "def f():\n    from registry.models import Job\n",
            "core/web.py:2: core.web imports registry.models: core imports nothing",
        ),
        (
            "governance/queue.py",
            "from registry.views.models import render_htmx\n",
            "governance/queue.py:1: governance.queue imports registry.views.models: registry's "
            "views",
        ),
        (
            "governance/services/reports.py",
            "def f():\n    from governance.report_tasks import generate\n",
            "governance/services/reports.py:2: governance.services.reports imports "
            "governance.report_tasks: services never import task modules",
        ),
        (
            "governance/selectors.py",
            "from governance.services.transitions import check_four_eyes\n",
            "governance/selectors.py:1: governance.selectors imports "
            "governance.services.transitions: selectors and rules never import services",
        ),
        (
            "governance/rules.py",
            "def f():\n    from governance.services import risk\n",
            "governance/rules.py:2: governance.rules imports governance.services: selectors "
            "and rules never import services",
        ),
        (
            "governance/sealing.py",
            "from registry import models\n",
            "governance/sealing.py:1: governance.sealing imports registry.models: the governance "
            "leaf modules import nothing from registry",
        ),
        (
            "governance/audit.py",
            "from governance import policy\n",
            "governance.audit loads governance.policy",
        ),
    ],
)
def test_the_checker_names_each_forbidden_import(tmp_path, file, text, expected):
    files = {**BASE, file: text, "governance/policy.py": ""}
    found = violations(_tree(tmp_path, files))
    assert any(expected in line for line in found), found


def test_the_checker_finds_a_cycle_through_a_lazy_import(tmp_path):
    files = {
        **BASE,
        "governance/services/reports.py": "def f():\n    import governance.report_tasks\n",
    }
    assert cycles(_tree(tmp_path, files)) == [
        ["governance.report_tasks", "governance.services.reports"]
    ]


def test_tasks_queued_by_name_are_registered():
    """Services queue tasks by name (so they need not import the task modules): each name
    must be a task the apps register at start-up, or the job would wait forever."""
    from config.celery import app
    from governance.services import notifications, reports, webhooks
    from registry.services import common

    names = [
        reports.GENERATE_REPORT_TASK,
        notifications.NOTIFY_TRANSITION_TASK,
        webhooks.DELIVER_WEBHOOK_TASK,
        common.SCAN_VERSION_TASK,
        common.PURGE_PREFIX_TASK,
    ]
    assert [name for name in names if name not in app.tasks] == []
