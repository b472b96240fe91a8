"""Telling formats apart from a file's first bytes (pickle, npy, and each kind of container)."""

import io

from registry.pickles.common import (
    _BZ2,
    _GZIP,
    _LZ4,
    _NPY,
    _XZ,
    _ZIP,
    Limits,
    NotPickle,
    ScanError,
    Truncated,
)
from registry.pickles.opcodes import _NOTHING_ALLOWED, PickleReader
from registry.pickles.streams import Budget, Peek

# --- Telling formats apart ----------------------------------------------------------------


def sniff(head: bytes, *, complete: bool) -> str | None:
    """What the first bytes say: a container format, 'npy', 'pickle', or None. `complete`:
    the head is the whole file."""
    if head.startswith(_GZIP):
        return "gzip"
    if _BZ2.match(head[:10]):
        return "bz2"
    if head.startswith(_XZ):
        return "xz"
    if head.startswith(_LZ4):
        return "lz4"
    if head.startswith(_ZIP):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith(_NPY):
        return "npy"
    if head[:3] == b"\x5d\x00\x00":
        return "lzma"  # weak magic: if it does not decompress, it is not lzma
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"  # weak magic, likewise
    return "pickle" if looks_like_pickle(head, complete=complete) else None


def might_need_scan(head: bytes, *, complete: bool) -> bool:
    """At upload: could this file hold a pickle (itself, or inside a container)? Cheap,
    and errs towards yes; the scanner then reads the whole file."""
    return sniff(head, complete=complete) is not None


def looks_like_pickle(head: bytes, *, complete: bool) -> bool:
    """Do these bytes read as pickle opcodes from the first byte: to a STOP, to the end of
    an incomplete head, or far enough to import something?"""
    scan = PickleReader(Peek(io.BytesIO(head)), rules=_NOTHING_ALLOWED, budget=Budget(Limits()))
    try:
        scan.read_one()
    except NotPickle:
        return False
    except Truncated:  # ran out of bytes: of the head only, or of the whole file
        return bool(scan.globals_seen) or scan.proto or not complete
    except ScanError:  # not a pickle after all, unless it looked like one or imported
        return bool(scan.globals_seen) or scan.proto
    return True
