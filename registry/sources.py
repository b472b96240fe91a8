"""A model version's source: where it came from, recorded as lineage.

Attest serves a version's files only from what it stored and hashed itself; the source is
never opened, followed or handed to a client as a download location. It is still checked
as strictly as `mlflow server` checks it, because other tools read it: no local paths on
this server, no `file:` URIs, no `.`/`..` segments in any percent-encoding, no control
characters or backslashes, and only schemes of the artifact stores MLflow knows. Written
here rather than imported from mlflow because the server does not depend on mlflow (the
client is a test tool) and because Attest's rule is stricter (no local path at all)."""

import re
from urllib.parse import unquote_plus, urlsplit

from django.core.exceptions import ValidationError

# Artifact stores MLflow's clients write to. A source naming one is lineage only.
LINEAGE_SCHEMES = frozenset(
    {
        "runs",
        "models",
        "mlflow-artifacts",
        "s3",
        "s3a",
        "s3n",
        "gs",
        "wasb",
        "wasbs",
        "abfs",
        "abfss",
        "adl",
        "hdfs",
        "viewfs",
        "dbfs",
        "oci",
        "http",
        "https",
        "ftp",
        "sftp",
    }
)
# Schemes whose address is a path relative to this server's own stores: a host part
# would be meaningless (and MLflow refuses it too).
HOSTLESS_SCHEMES = frozenset({"runs", "models"})
_MAX_DECODE_ROUNDS = 8


def _refuse(source: str, why: str) -> ValidationError:
    shown = source if len(source) <= 200 else source[:200] + "…"
    return ValidationError(f"Invalid model version source '{shown}': {why}")


def _fully_decoded(source: str) -> str:
    """Undo percent-encoding until nothing changes, so %252e%252e is seen as '..'."""
    for _ in range(_MAX_DECODE_ROUNDS):
        decoded = unquote_plus(source)
        if decoded == source:
            return decoded
        source = decoded
    raise ValueError("encoded too many times")


def validate_source(source: str) -> str:
    """The source unchanged if it is acceptable lineage; ValidationError otherwise."""
    if not source:
        return source
    try:
        decoded = _fully_decoded(source)
    except ValueError:
        raise _refuse(source, "it is percent-encoded too many times.") from None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded) or "\\" in decoded:
        raise _refuse(source, "control characters and backslashes are not allowed.")
    parts = urlsplit(decoded)
    scheme = parts.scheme.lower()
    if not scheme or len(scheme) == 1:  # a path, or a Windows drive letter
        raise _refuse(source, "a path on the server is not a source; name the artifact store.")
    if scheme == "file":
        raise _refuse(source, "file: URIs name files on the server and are not accepted.")
    if scheme not in LINEAGE_SCHEMES:
        raise _refuse(source, f"the scheme '{scheme}' is not an artifact store.")
    if scheme in HOSTLESS_SCHEMES and parts.netloc:
        raise _refuse(source, f"a {scheme}: source has no host part.")
    if any(segment in {".", ".."} for segment in parts.path.split("/")):
        raise _refuse(source, "relative path segments ('.' or '..') are not allowed.")
    if any(segment in {".", ".."} for segment in decoded.split("/")):
        raise _refuse(source, "relative path segments ('.' or '..') are not allowed.")
    return source


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


def validate_run_id(run_id: str) -> str:
    """A run id as MLflow writes them (letters, digits, '-' and '_', at most 100): one that
    names a run in another tracking server is kept as lineage, so it must be plain text."""
    if not _RUN_ID.fullmatch(run_id or ""):
        shown = run_id if len(run_id or "") <= 100 else run_id[:100] + "…"
        raise ValidationError(
            f"Invalid run_id '{shown}': use letters, digits, '-' and '_' (at most 100)."
        )
    return run_id


def run_id_of(source: str) -> str:
    """The run named by a `runs:/<run id>/<path>` source, or ''."""
    if not source.startswith("runs:/"):
        return ""
    return source[len("runs:/") :].split("/", 1)[0]
