"""No Python module over 600 lines (issue 16): past that size a module stops being read
whole. Applies to the application, the tests and the benchmarks; migrations are generated
and left out, and so is everything that is not the project's own code (virtual
environments, hidden directories, node_modules, var/, build output)."""

import os
from pathlib import Path

MAX_LINES = 600
ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {"migrations", "node_modules", "__pycache__", "var", "build", "dist"}


def python_modules(root: Path):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and d not in SKIPPED_DIRS and not d.endswith(".egg-info")
        )
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(folder) / name


def oversized(root: Path, limit: int = MAX_LINES) -> list[str]:
    """'path: N lines' for every module over the limit, longest first."""
    found = []
    for path in python_modules(root):
        lines = len(path.read_text(encoding="utf-8", errors="replace").splitlines())
        if lines > limit:
            found.append((lines, path.relative_to(root).as_posix()))
    return [f"{path}: {lines} lines" for lines, path in sorted(found, reverse=True)]


def test_no_module_is_over_600_lines():
    offenders = oversized(ROOT)
    assert not offenders, (
        f"Modules over {MAX_LINES} lines (split them by concern; see docs/architecture.md):\n"
        + "\n".join(offenders)
    )


def test_the_check_finds_a_long_module_and_skips_migrations_and_environments(tmp_path):
    def write(relative: str, lines: int) -> None:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n" * lines)

    write("app/long.py", MAX_LINES + 1)
    write("app/exactly.py", MAX_LINES)
    write("tests/test_long.py", MAX_LINES + 5)
    write("app/migrations/0001_initial.py", 5000)
    write(".venv/lib/site.py", 5000)
    write("node_modules/pkg/x.py", 5000)
    write("app/notes.txt", 5000)

    assert oversized(tmp_path) == [
        "tests/test_long.py: 605 lines",
        "app/long.py: 601 lines",
    ]
