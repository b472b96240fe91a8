"""Red team (issue 13): a joblib file whose array bytes hide a pickle fragment.

Attacker: a governed user uploading a model file. joblib reads an array's raw bytes
between the pickle's opcodes, sized by the unpickled numpy.dtype; the scanner steps over
the same bytes, sized by what it reads from the dtype's pickled state. NumPy ignores the
state's element size and flags for fixed-size types ('f8', 'i4', ...), so a state that
claims a larger element size made the scanner step over opcodes joblib.load then runs.

Nothing here unpickles anything.
"""

import io

import numpy as np
import pytest

from registry.pickle_allowlist import rules_for
from registry.pickles import Limits, scan_stream

joblib = pytest.importorskip("joblib")

FLOATS = np.arange(8, dtype="f8")


def _joblib_bytes() -> bytes:
    buffer = io.BytesIO()
    joblib.dump({"w": FLOATS}, buffer)
    return buffer.getvalue()


def _hide(fragment: bytes, elsize_field: bytes = b"J\x10\x00\x00\x00") -> bytes:
    """The dtype state's element size (-1 as written) set to 16 for an 'f8' array:
    joblib reads 8 * 8 bytes of array data, the scanner would step over 16 * 8."""
    data = bytearray(_joblib_bytes())
    at = data.index(b"J\xff\xff\xff\xff", data.index(b"f8"))
    data[at : at + 5] = elsize_field
    end = bytes(data).index(FLOATS.tobytes()) + len(FLOATS.tobytes())
    assert len(fragment) == 64  # exactly the bytes the scanner wrongly steps over
    return bytes(data[:end]) + fragment + bytes(data[end:])


# GLOBAL posix.system, MARK, UNICODE, TUPLE, REDUCE, POP; then NONE POP pairs as padding.
_CALL = b"cposix\nsystem\n(Vtouch /tmp/attest-redteam-pwned \ntR0"
FRAGMENT = _CALL + b"N0" * ((64 - len(_CALL)) // 2)


def scan(data: bytes):
    return scan_stream(io.BytesIO(data), rules=rules_for(), limits=Limits(), seekable=True)


def test_an_honest_joblib_array_scans_clean():
    assert scan(_joblib_bytes()).status == "clean"


def test_a_dtype_state_claiming_a_larger_element_size_cannot_hide_opcodes():
    verdict = scan(_hide(FRAGMENT))
    assert verdict.status in ("flagged", "error"), verdict


def test_a_dtype_state_claiming_objects_for_a_fixed_type_is_not_trusted():
    """flags & 1 (holds objects) on an 'f8' dtype: NumPy ignores it and joblib reads raw
    bytes; a scanner trusting it would read a nested pickle instead."""
    data = bytearray(_joblib_bytes())
    start = data.index(b"f8")
    # the state's last field, the flags (BININT1 0 after the two BININT -1)
    at = data.index(b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00", start) + 10
    data[at : at + 2] = b"K\x01"
    assert scan(bytes(data)).status in ("flagged", "error")


def test_honest_joblib_arrays_of_every_kind_scan_clean():
    buffer = io.BytesIO()
    arrays = {
        "u": np.array(["ab", "cde"]),
        "s": np.array([b"ab", b"c"]),
        "rec": np.zeros(3, dtype=[("a", "f8"), ("b", "i4")]),
        "sub": np.zeros(2, dtype=("f8", (2, 2))),
        "dt": np.array(["2024-01-01"], dtype="M8[s]"),
        "obj": np.array([{"a": 1}, None], dtype=object),
        "c": np.zeros(2, dtype="c16"),
        "b": np.zeros(2, dtype=bool),
    }
    joblib.dump(arrays, buffer)
    assert scan(buffer.getvalue()).status == "clean"
