"""Red team (issue 13): an LZMA ("alone") stream with a small dictionary.

joblib.load takes any file starting with b"\\x5d\\x00" for LZMA and unpickles what it holds;
the scanner only recognised b"\\x5d\\x00\\x00" (dictionary sizes that are multiples of
64 KiB), so a stream compressed with a 4 KiB dictionary was "not applicable".
"""

import io
import lzma

import pytest

from registry.pickle_allowlist import rules_for
from registry.pickles import Limits, scan_stream

OS_SYSTEM = b"cos\nsystem\n(S'echo hi'\ntR."


def scan(data: bytes):
    return scan_stream(io.BytesIO(data), rules=rules_for(), limits=Limits(), seekable=True)


@pytest.mark.parametrize("dict_size", [4096, 4096 + 512, 1 << 20])
def test_an_lzma_stream_of_any_dictionary_size_is_scanned(dict_size):
    filters = [{"id": lzma.FILTER_LZMA1, "dict_size": dict_size}]
    data = lzma.compress(OS_SYSTEM, format=lzma.FORMAT_ALONE, filters=filters)
    assert data[:2] == b"\x5d\x00"
    assert scan(data).status == "flagged"


def test_a_protocol_1_list_pickle_is_still_a_pickle():
    import pickle

    assert scan(pickle.dumps([1, 2], protocol=1)).status == "clean"
