"""Telling formats apart from a file's first bytes (pickle, npy, and each kind of container)."""

import io
import struct

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
    if _is_joblib_zfile(head):
        return "zfile"
    if head.startswith(_ZIP):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if _tar_checksum_matches(head):  # an old (V7) tar has no magic; tarfile still reads it
        return "tar"
    if head.startswith(_NPY):
        return "npy"
    if head[:2] == b"\x5d\x00":  # joblib's test: any dictionary size (a pickle never
        return "lzma"  # starts so); weak magic: if it does not decompress, it is not lzma
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"  # weak magic, likewise
    return "pickle" if looks_like_pickle(head, complete=complete) else None


ZFILE_HEADER = 2 + 19  # b"ZF", then the length in hex padded to 19 characters


def _is_joblib_zfile(head: bytes) -> bool:
    """joblib's old compressed format (joblib.load still reads it): b"ZF", a hex length,
    then a zlib stream holding the pickle. As joblib reads it: any b"ZF" start whose next
    19 bytes parse as a hex number."""
    if not head.startswith(b"ZF") or len(head) < ZFILE_HEADER:
        return False
    try:
        int(head[2:ZFILE_HEADER], 16)
    except ValueError:
        return False
    return True


def _tar_checksum_matches(head: bytes) -> bool:
    """Does the first 512-byte block carry a valid tar header checksum (as tarfile checks
    it: the octal field at 148 equals the byte sum with that field counted as spaces)?"""
    if len(head) < 512:
        return False
    field = head[148:156].replace(b"\x00", b" ").strip()
    if not field or not all(48 <= c <= 55 for c in field):
        return False
    block = head[:512]
    unsigned = 256 + sum(block[:148]) + sum(block[156:])
    signed = 256 + sum(struct.unpack("148b", block[:148])) + sum(struct.unpack("356b", block[156:]))
    return int(field, 8) in (unsigned, signed) and any(block[:100])


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
