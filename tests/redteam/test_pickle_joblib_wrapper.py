"""Red team (issue 13): a joblib array wrapper made without calling its class.

Attacker: a governed user uploading a model file. joblib's unpickler reads raw array bytes
after the BUILD of any NumpyArrayWrapper instance, however it was made. The scanner only
stepped over those bytes when the wrapper was made by calling the class (NEWOBJ/REDUCE);
made through the allow-listed copyreg._reconstructor, the scanner read the array bytes as
opcodes, and a BINBYTES there swallowed a pickle fragment joblib.load then runs.

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


def scan(data: bytes):
    return scan_stream(io.BytesIO(data), rules=rules_for(), limits=Limits(), seekable=True)


def _wrapper_made_by(maker: bytes) -> bytes:
    """joblib.dump of 8 uint8s, with `EMPTY_TUPLE NEWOBJ` (the wrapper's creation) replaced
    by `maker`, which finds the class as memo 4; the alignment padding and array bytes are
    rewritten so that, read as opcodes, a BINBYTES swallows CALL, which joblib runs."""
    buffer = io.BytesIO()
    joblib.dump({"w": np.arange(8, dtype="u1")}, buffer)
    data = bytearray(buffer.getvalue())
    assert data[61:63] == b")\x81"
    data[61:63] = maker
    (frame,) = struct.unpack("<Q", data[3:11])
    frame += len(maker) - 2
    data[3:11] = struct.pack("<Q", frame)
    end = 11 + frame
    padding_length = data[end]
    tail = bytes(data[end + 1 + padding_length + 8 :])
    # joblib: padding length 0x42 ('B'), 66 bytes of padding, 8 array bytes, then opcodes.
    padding = struct.pack("<I", 62 + 8 + len(CALL)) + b"\x00" * 62
    return bytes(data[:end]) + b"B" + padding + bytes(range(8)) + CALL + tail


RECONSTRUCTOR = b"0ccopyreg\n_reconstructor\nh\x04cbuiltins\nobject\nN\x87R"
MARECONSTRUCT = b"0cnumpy.ma.core\n_mareconstruct\n(h\x04cnumpy\nndarray\nK\x00\x85\x8c\x01btR"


@pytest.mark.parametrize("maker", [RECONSTRUCTOR, MARECONSTRUCT], ids=["copyreg", "numpy.ma"])
def test_a_wrapper_made_without_its_class_cannot_hide_opcodes(maker):
    verdict = scan(_wrapper_made_by(maker))
    assert verdict.status in ("flagged", "error"), verdict


@pytest.mark.parametrize("protocol", [0, 1, 2, 5])
def test_honest_joblib_files_of_every_protocol_scan_clean(protocol):
    buffer = io.BytesIO()
    arrays = {"w": np.arange(8, dtype="f8"), "o": np.array([1, None])}
    joblib.dump(arrays, buffer, protocol=protocol)
    assert scan(buffer.getvalue()).status == "clean"
