"""Find every pickle in a file's bytes and the globals those pickles would import.

Nothing here unpickles. A pickle is read opcode by opcode (the opcode table of the standard
library's pickletools) while a small symbolic stack follows what the real unpickler would
hold, just enough to name the module and attribute behind every GLOBAL, STACK_GLOBAL and
INST and to step over the raw array bytes joblib writes between opcodes. Containers
(gzip, bz2, xz, lzma, zlib, zip, tar, NumPy .npy) are opened and their members scanned the
same way, within limits; what cannot be read within them is an error, never "clean".

The verdict (see scan_stream):
- flagged: a global outside the allow-list (registry.pickle_allowlist), or one whose name
  cannot be read, is imported somewhere in the file;
- error: the file, or a member, is a pickle or container that cannot be read to its end
  within the limits (truncated, corrupt, a decompression bomb, too many members, too deep);
- clean: at least one pickle was read to its end and imported only allowed globals;
- not_applicable: no pickle anywhere (nothing a pickle loader could run).

Modules, by concern: common.py (limits, errors, the verdict's shape), streams.py (reading
within the budget), formats.py (telling formats apart), opcodes.py (the opcode reader),
containers.py (archives and compressed streams opened, members scanned) and verdict.py
(`scan_stream`, the verdict on one file). This module re-exports the public names.
"""

from registry.pickles.common import MAX_FINDINGS, SNIFF_BYTES, Limits, ScanError, ScanLimit, Verdict
from registry.pickles.formats import looks_like_pickle, might_need_scan, sniff
from registry.pickles.verdict import scan_stream

__all__ = [
    "Limits",
    "MAX_FINDINGS",
    "SNIFF_BYTES",
    "ScanError",
    "ScanLimit",
    "Verdict",
    "looks_like_pickle",
    "might_need_scan",
    "scan_stream",
    "sniff",
]
