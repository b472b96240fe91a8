"""Pickle scanning with picklescan. Attest never unpickles an uploaded file: picklescan
reads the opcode stream and lists the globals a pickle would import."""

import os
import shutil
import tempfile

from django.core.files.storage import default_storage
from picklescan.scanner import SafetyLevel, scan_file_path

from registry import storage


def scan_stored_file(storage_name: str, path: str) -> tuple[str, list[dict]]:
    """Return (status, findings) for one stored artifact: clean, flagged or error."""
    local = storage.local_path_or_none(storage_name)
    tmp_dir = None
    try:
        if local is None:  # remote storage: stream a copy to a temporary file
            tmp_dir = tempfile.mkdtemp(prefix="attest-scan-")
            local = os.path.join(tmp_dir, "artifact" + os.path.splitext(path)[1].lower())
            with default_storage.open(storage_name, "rb") as src, open(local, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        elif os.path.splitext(local)[1].lower() != os.path.splitext(path)[1].lower():
            tmp_dir = tempfile.mkdtemp(prefix="attest-scan-")
            linked = os.path.join(tmp_dir, "artifact" + os.path.splitext(path)[1].lower())
            os.symlink(local, linked)
            local = linked
        result = scan_file_path(local)
    finally:
        if tmp_dir:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    findings = [
        {"module": g.module, "name": g.name, "safety": g.safety.value}
        for g in result.globals
        if g.safety != SafetyLevel.Innocuous
    ]
    # picklescan collects globals in a set: sort, so a re-scan in another worker process
    # (another hash seed) reports the same findings and records nothing new.
    findings.sort(key=lambda f: (f["module"], f["name"]))
    # A dangerous global is flagged even when the rest of the stream does not parse
    # (a malicious pickle with junk after it): "could not scan" would undersell it.
    if result.issues_count or any(f["safety"] == "dangerous" for f in findings):
        return "flagged", findings
    if result.scan_err:
        return "error", findings or [{"error": "the file could not be parsed as a pickle"}]
    return "clean", findings
