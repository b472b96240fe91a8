"""Red team (issue 13): joblib's old "ZF" compressed format.

joblib.load still reads a file that starts with b"ZF" and a hex length as a zlib stream
holding a pickle (numpy_pickle_compat), and unpickles it; the scanner did not know the
format, so such a file holding an os.system pickle was "not applicable".
"""

import io
import zlib

import pytest

from registry.pickle_allowlist import rules_for
from registry.pickles import Limits, scan_stream

OS_SYSTEM = b"cos\nsystem\n(S'echo hi'\ntR."


def zfile(data: bytes, *, extra_space=False) -> bytes:
    header = b"ZF" + hex(len(data)).encode().ljust(19) + (b" " if extra_space else b"")
    return header + zlib.compress(data)


def scan(data: bytes):
    return scan_stream(io.BytesIO(data), rules=rules_for(), limits=Limits(), seekable=True)


@pytest.mark.parametrize("extra_space", [False, True])
def test_a_joblib_zfile_is_opened_and_scanned(extra_space):
    assert scan(zfile(OS_SYSTEM, extra_space=extra_space)).status == "flagged"


def test_joblibs_own_zfile_writer_is_scanned():
    numpy_pickle_compat = pytest.importorskip("joblib.numpy_pickle_compat")
    buffer = io.BytesIO()
    numpy_pickle_compat.write_zfile(buffer, OS_SYSTEM)
    assert scan(buffer.getvalue()).status == "flagged"
    buffer = io.BytesIO()
    numpy_pickle_compat.write_zfile(buffer, b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94.")
    assert scan(buffer.getvalue()).status == "clean"


def test_a_broken_zfile_is_an_error_and_text_is_not_a_zfile():
    assert scan(b"ZF" + b"0x10".ljust(19) + b"not zlib at all").status == "error"
    assert scan(b"ZF is a two-letter code, and this is text\n" * 3).status == "not_applicable"
