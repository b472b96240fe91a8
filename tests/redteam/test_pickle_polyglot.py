"""Red team (issue 13): files that are a container and a pickle at once.

pickle.load (and mlflow's pickle flavour, torch's legacy loader) reads from the first byte,
whatever else the file is. The scanner took a file for one format only:
- a tar whose first member is *named* as a pickle (`cposix\\nsystem\\n(...tR.`): pickle.load
  runs it from the header; the scanner only read the (harmless) members;
- a bz2 stream: "BZh9" reads as BINBYTES of ~825 MB, stepping over the compressed data to
  opcodes after it, which bz2 ignores as trailing data (too big to build in a test: the
  test checks that the scanner reads such a head as a pickle too).
"""

import io
import tarfile

from registry.pickle_allowlist import rules_for
from registry.pickles import Limits, scan_stream

CALL = "cposix\nsystem\n(Vtouch /tmp/attest-redteam-pwned\ntR."


def tar_named(name: str, data: bytes = b"hello") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def scan(data: bytes, *, seekable=True):
    return scan_stream(io.BytesIO(data), rules=rules_for(), limits=Limits(), seekable=seekable)


def test_a_tar_whose_header_is_a_pickle_is_flagged():
    data = tar_named(CALL)
    assert data.startswith(CALL.encode())  # what pickle.load reads first
    assert scan(data).status == "flagged"


def test_the_same_tar_inside_a_gzip_is_flagged():
    import gzip

    assert scan(gzip.compress(tar_named(CALL))).status == "flagged"


def test_an_ordinary_tar_is_scanned_as_a_tar_only():
    assert scan(tar_named("model/weights.bin", b"\x00" * 100)).status == "not_applicable"
    assert scan(tar_named("data.pkl", b"\x80\x04K\x01.")).status == "clean"


def test_a_bz2_head_reads_as_a_pickle_so_both_are_scanned():
    import bz2

    from registry.pickles import looks_like_pickle, sniff

    head = bz2.compress(b"harmless" * 1000)
    assert sniff(head, complete=False) == "bz2"
    assert looks_like_pickle(head, complete=False)  # BINBYTES running past the head
