"""Pickle scanning of stored artifacts. Attest never unpickles an uploaded file: the bytes
are read opcode by opcode (registry.pickles), containers opened within limits, and every
global a pickle would import is checked against the allow-list (registry.pickle_allowlist).
See docs/architecture.md, "Pickle scanning"."""

import contextlib
import posixpath
import shutil
import struct
import tempfile
import zlib

import yaml
from django.conf import settings
from django.core.files.storage import default_storage

from registry import pickle_allowlist, pickles, storage

MLMODEL_MAX_BYTES = 1024 * 1024


def scan_limits() -> pickles.Limits:
    return pickles.Limits(
        max_bytes=settings.ATTEST_SCAN_MAX_BYTES,
        max_members=settings.ATTEST_SCAN_MAX_MEMBERS,
        max_depth=settings.ATTEST_SCAN_MAX_DEPTH,
        max_opcodes=settings.ATTEST_SCAN_MAX_OPCODES,
    )


def allow_rules():
    return pickle_allowlist.rules_for(tuple(settings.ATTEST_SCAN_ALLOWED_GLOBALS))


# What a reader of a damaged or hostile file may raise (zipfile, tarfile, gzip, bz2, lzma,
# zlib and struct all raise one of these, or a subclass).
UNREADABLE = (ValueError, EOFError, KeyError, IndexError, RuntimeError, struct.error, zlib.error)


def scan_stored_file(
    storage_name: str, path: str, *, expect_pickle: bool = False
) -> tuple[str, list[dict]]:
    """(status, findings) for one stored artifact: clean, flagged, error or not_applicable.
    `expect_pickle`: an MLmodel names this file as a pickled model, so a file that is not
    a readable pickle is an error rather than "not a pickle"."""
    local = storage.local_path_or_none(storage_name)
    with contextlib.ExitStack() as stack:
        if local is None:  # remote storage: stream a copy to a temporary file (zip seeks)
            handle = stack.enter_context(tempfile.TemporaryFile(prefix="attest-scan-"))
            with default_storage.open(storage_name, "rb") as src:
                shutil.copyfileobj(src, handle, 1024 * 1024)
            handle.seek(0)
        else:
            handle = stack.enter_context(open(local, "rb"))  # noqa: SIM115
        try:
            verdict = pickles.scan_stream(
                handle,
                rules=allow_rules(),
                limits=scan_limits(),
                expect_pickle=expect_pickle,
                seekable=True,
            )
        except UNREADABLE as exc:
            # Fail closed: a file the reader chokes on (a corrupt archive) is an error,
            # which blocks promotion, never a crashed scan job.
            return "error", [{"error": f"the file could not be read ({type(exc).__name__})"}]
    return verdict.status, verdict.findings


def mlmodel_pickled_paths(files) -> set[str]:
    """Paths that an MLmodel file among `files` ((path, storage name) pairs) names as a
    pickled model (flavors.<any>.pickled_model, e.g. python_function or sklearn), relative
    to the version. A malformed MLmodel names nothing (it cannot make a file less scanned)."""
    found = set()
    for path, storage_name in files:
        if posixpath.basename(path) != "MLmodel":
            continue
        try:
            with default_storage.open(storage_name, "rb") as handle:
                raw = handle.read(MLMODEL_MAX_BYTES + 1)
            if len(raw) > MLMODEL_MAX_BYTES:
                continue
            spec = yaml.load(raw, Loader=_NoAliasLoader)  # noqa: S506  (safe, no aliases)
        except Exception:  # noqa: S112  (unreadable: it names nothing)
            continue
        flavors = spec.get("flavors") if isinstance(spec, dict) else None
        if not isinstance(flavors, dict):
            continue
        base = posixpath.dirname(path)
        for conf in flavors.values():
            value = conf.get("pickled_model") if isinstance(conf, dict) else None
            if isinstance(value, str) and value:
                found.add(posixpath.normpath(posixpath.join(base, value)))
    return found


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a billion-laughs MLmodel cannot pin the worker."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not accepted in MLmodel")
        return super().compose_node(parent, index)
