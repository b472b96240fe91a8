"""Red team (issue 13): a .npy object array whose header names its dtype in a way the
scanner's pattern did not (double quotes, 'object', a structured field).

np.load(..., allow_pickle=True) reads the header as a Python literal and unpickles the data
of any dtype holding objects; the scanner looked for a single-quoted 'O' only, so these
files were "not applicable" (not a pickle) while np.load ran the pickle.
"""

import io
import struct

import pytest

from registry.pickle_allowlist import rules_for
from registry.pickles import Limits, scan_stream

PAYLOAD = b"cposix\nsystem\n(Vtouch /tmp/attest-redteam-pwned\ntR."


def npy(descr_literal: str, data: bytes = PAYLOAD) -> bytes:
    header = f"{{'descr': {descr_literal}, 'fortran_order': False, 'shape': (1,), }}".encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def scan(data: bytes):
    return scan_stream(io.BytesIO(data), rules=rules_for(), limits=Limits(), seekable=True)


@pytest.mark.parametrize(
    "descr",
    [
        '"|O"',
        "'object'",
        '"object"',
        "'object_'",
        "[('a', \"O\")]",
        "[('a', ('O', (2,)))]",
        "('O', (2,))",
        "[(('title', 'a'), '<f8'), ('b', [('c', \"|O\")])]",
    ],
)
def test_an_object_array_named_any_way_numpy_reads_is_scanned(descr):
    assert scan(npy(descr)).status == "flagged"


def test_honest_npy_files_scan_as_before():
    import numpy as np

    for array in [
        np.arange(4.0),
        np.zeros(2, dtype=[("foo", "<f8"), ("bool", "?")]),
        np.array(["ab"]),
    ]:
        buffer = io.BytesIO()
        np.save(buffer, array)
        assert scan(buffer.getvalue()).status == "not_applicable"
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}, None], dtype=object))
    assert scan(buffer.getvalue()).status == "clean"


def test_an_unreadable_npy_header_is_an_error():
    assert scan(npy("__import__('os')")).status == "error"
