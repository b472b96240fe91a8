"""Red team (issue 13): a tar archive without the ustar magic (the old V7 format).

Python's tarfile (and so torch's legacy tar loader, or any loader built on tarfile) reads
a tar by its header checksum, not its magic; the scanner recognised tars only by the magic,
so a V7 tar holding an os.system pickle was "not applicable".
"""

import io
import tarfile

from registry.pickle_allowlist import rules_for
from registry.pickles import Limits, scan_stream
from registry.storage import needs_pickle_scan

OS_SYSTEM = b"cos\nsystem\n(S'echo hi'\ntR."


def v7_tar(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    raw = bytearray(buffer.getvalue())
    raw[257:265] = b"\x00" * 8  # no magic, no version: a V7 header
    raw[148:156] = b" " * 8
    raw[148:156] = b"%06o\x00 " % sum(raw[:512])
    return bytes(raw)


def test_a_v7_tar_is_read_by_tarfile_and_scanned():
    data = v7_tar("storages", OS_SYSTEM)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        assert archive.extractfile("storages").read() == OS_SYSTEM  # loaders can read it
    assert needs_pickle_scan("model.bin", data[:65536], complete=True, tail=data[-65558:])
    verdict = scan_stream(io.BytesIO(data), rules=rules_for(), limits=Limits(), seekable=True)
    assert verdict.status == "flagged"
    assert verdict.findings[0]["member"] == "storages"


def test_text_and_zeros_are_not_taken_for_a_tar():
    for data in [b"\x00" * 2048, b"hello world\n" * 200]:
        verdict = scan_stream(io.BytesIO(data), rules=rules_for(), limits=Limits(), seekable=True)
        assert verdict.status == "not_applicable"
