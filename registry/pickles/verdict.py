"""The verdict on one file: flagged, error, clean or not_applicable."""

import lzma
import tarfile
import zlib

from registry.pickles.common import MAX_FINDINGS, Limits, ScanError, Verdict
from registry.pickles.containers import FileScan


def scan_stream(raw, *, rules, limits: Limits, expect_pickle=False, seekable=False) -> Verdict:
    """The verdict on one file, read from `raw` (a binary file object)."""
    scan = FileScan(rules, limits)
    try:
        scan.stream(raw, "", 0, expect_pickle=expect_pickle, seekable=seekable)
    except ScanError as exc:
        scan.error("", str(exc))
    except (OSError, EOFError, zlib.error, lzma.LZMAError, tarfile.TarError) as exc:
        scan.error("", f"cannot be read: {exc}")
    if scan.findings:
        listed = scan.findings[:MAX_FINDINGS]
        if len(scan.findings) > MAX_FINDINGS:
            more = len(scan.findings) - MAX_FINDINGS
            listed.append({"error": f"and {more} more globals outside the allow-list"})
        return Verdict("flagged", listed + scan.errors[:MAX_FINDINGS])
    if scan.errors:
        return Verdict("error", scan.errors[:MAX_FINDINGS])
    if scan.pickles:
        return Verdict("clean", [])
    return Verdict("not_applicable", [])
