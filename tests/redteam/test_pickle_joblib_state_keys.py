"""Red team (issue 13): a joblib array wrapper whose state has more keys than the scanner
keeps.

joblib sizes the raw bytes after a wrapper's BUILD from the whole state (`__dict__`); the
scanner kept the first 64 keys and dropped the rest, so an alignment key after 60 junk
keys was unseen: the scanner stepped over the wrong bytes, and a BINBYTES in the padding
swallowed a pickle fragment joblib.load then runs.

Nothing here unpickles anything.
"""

import io
import struct

import numpy as np
import pytest

from registry.pickle_allowlist import rules_for
from registry.pickles import Limits, scan_stream

joblib = pytest.importorskip("joblib")

CALL = b"cposix\nsystem\n(Vtouch /tmp/attest-redteam-pwned\ntR0"
JUNK = b"".join(b"\x8c\x03k%02dN" % i for i in range(60))  # 60 keys "k00".."k59" = None


def _hidden() -> bytes:
    buffer = io.BytesIO()
    joblib.dump({"w": np.arange(8, dtype="u1")}, buffer)
    data = bytearray(buffer.getvalue())
    at = data.index(b"\x8c\nallow_mmap")  # junk before allow_mmap and the alignment key
    data[at:at] = JUNK
    (frame,) = struct.unpack("<Q", data[3:11])
    frame += len(JUNK)
    data[3:11] = struct.pack("<Q", frame)
    end = 11 + frame  # joblib: padding length, padding, 8 array bytes, then opcodes
    padding_length = data[end]
    tail = bytes(data[end + 1 + padding_length + 8 :])
    pad = 20
    # A scanner blind to the alignment steps 8 bytes from the padding length byte and
    # reads opcodes at padding[7]: a BINBYTES over the rest of the padding, data and CALL.
    padding = b"\x00" * 7 + b"B" + struct.pack("<I", (pad - 12) + 8 + len(CALL)) + b"\x00" * 8
    assert len(padding) == pad
    return bytes(data[:end]) + bytes([pad]) + padding + bytes(range(8)) + CALL + tail


def scan(data: bytes):
    return scan_stream(io.BytesIO(data), rules=rules_for(), limits=Limits(), seekable=True)


def test_state_keys_past_the_kept_ones_cannot_hide_opcodes():
    assert scan(_hidden()).status in ("flagged", "error")


def test_a_state_key_built_at_load_time_makes_the_array_unreadable():
    """builtins.str('numpy_array_alignment_bytes') as a key: joblib sees the key."""
    buffer = io.BytesIO()
    joblib.dump({"w": np.arange(8, dtype="u1")}, buffer)
    data = bytearray(buffer.getvalue())
    at = data.index(b"\x8c\nallow_mmap")
    built = b"cbuiltins\nstr\n\x8c\x01x\x85RN"  # str('x') as a key, None as its value
    data[at:at] = built
    (frame,) = struct.unpack("<Q", data[3:11])
    data[3:11] = struct.pack("<Q", frame + len(built))
    assert scan(bytes(data)).status == "error"


def test_an_honest_joblib_file_still_scans_clean():
    buffer = io.BytesIO()
    joblib.dump({"w": np.arange(8, dtype="u1")}, buffer)
    assert scan(buffer.getvalue()).status == "clean"
