"""The embedded default's SQLite connection (config/settings.py, docs/deploy.md "SQLite"):
WAL, synchronous NORMAL (or FULL when asked), a memory map, kept connections."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SHOW = (
    "import django; django.setup()\n"
    "from django.conf import settings; from django.db import connection\n"
    "c = connection.cursor()\n"
    "print(c.execute('PRAGMA journal_mode').fetchone()[0],"
    " c.execute('PRAGMA synchronous').fetchone()[0],"
    " c.execute('PRAGMA mmap_size').fetchone()[0],"
    " settings.DATABASES['default']['CONN_MAX_AGE'])\n"
)


def pragmas(tmp_path, **env) -> list[str]:
    environment = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ATTEST_VAR_DIR": str(tmp_path),
        "DEBUG": "true",
        **env,
    }
    environment.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", SHOW],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_the_embedded_database_runs_wal_normal_with_a_memory_map(tmp_path):
    # synchronous: 1 is NORMAL, 2 FULL
    assert pragmas(tmp_path) == ["wal", "1", str(256 * 1024**2), "60"]


def test_full_synchronous_can_be_asked_for(tmp_path):
    assert pragmas(tmp_path, SQLITE_SYNCHRONOUS="full")[1] == "2"


def test_an_unknown_synchronous_mode_stops_start_up(tmp_path):
    with pytest.raises(subprocess.CalledProcessError) as caught:
        pragmas(tmp_path, SQLITE_SYNCHRONOUS="off")
    assert "SQLITE_SYNCHRONOUS" in caught.value.stderr
