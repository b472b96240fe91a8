"""What the reader, the containers and the verdict share: the limits, the errors, the verdict's
shape and the magic bytes.
"""

import re
from dataclasses import dataclass, field

SNIFF_BYTES = 64 * 1024
_MAX_NAME = 1024  # a module or attribute name longer than this cannot be resolved
_MAX_VALUE = 256  # strings kept on the symbolic stack (names are short)
_MAX_ITEMS = 64  # tuple / dict entries kept (joblib's array state is a handful)
_MAX_LINE = 64 * 1024  # a text argument longer than this is stepped over, not kept

_GZIP = b"\x1f\x8b"
_XZ = b"\xfd7zXZ\x00"
_LZ4 = b"\x04\x22\x4d\x18"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_NPY = b"\x93NUMPY"
_BZ2 = re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)", re.S)


class ScanError(Exception):
    """The bytes cannot be read to a verdict (corrupt, truncated, over a limit)."""


class ScanLimit(ScanError):
    """A limit was reached: always an error, whatever was read so far."""


@dataclass
class Limits:
    max_bytes: int = 512 * 1024**2  # bytes read out of containers and decompressors
    max_members: int = 10_000  # members of all archives in one artifact
    max_depth: int = 4  # containers inside containers
    max_opcodes: int = 5_000_000  # opcodes of all pickles in one artifact


@dataclass
class Verdict:
    status: str
    findings: list[dict] = field(default_factory=list)


class NotPickle(Exception):
    """The first byte is not a pickle opcode."""


class Truncated(Exception):
    """The bytes end before the pickle's STOP."""


MAX_FINDINGS = 100  # listed per artifact; the rest are counted
