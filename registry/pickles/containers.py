"""Files and containers: gzip, bz2, xz, lzma, zlib, lz4, zip, tar and .npy opened within the
limits, every member scanned.
"""

import ast
import bz2
import gzip
import lzma
import struct
import tarfile
import tempfile
import zipfile

from registry.pickles.common import (
    SNIFF_BYTES,
    Limits,
    NotPickle,
    ScanError,
    ScanLimit,
    Truncated,
)
from registry.pickles.formats import ZFILE_HEADER, looks_like_pickle, sniff
from registry.pickles.opcodes import PickleReader
from registry.pickles.streams import Budget, Counted, Peek, ZlibReader

# --- Files and containers -----------------------------------------------------------------


class FileScan:
    def __init__(self, rules, limits: Limits):
        self.rules = rules
        self.budget = Budget(limits)
        self.limits = limits
        self.findings: list[dict] = []
        self.errors: list[dict] = []
        self.pickles = 0

    def error(self, where: str, message: str) -> None:
        entry = {"error": message}
        if where:
            entry["member"] = where
        self.errors.append(entry)

    def stream(self, raw, where: str, depth: int, *, expect_pickle=False, seekable=False):
        """Scan one stream (a file or an archive member), recording into self."""
        reader = Peek(raw)
        head = reader.peek(SNIFF_BYTES)
        kind = sniff(head, complete=len(head) < SNIFF_BYTES)
        # zipfile (and so any loader built on it) finds an archive by its end: a file that
        # starts as something else and ends as a zip is both, and both are scanned.
        zip_too = seekable and kind != "zip" and _zip_at_end(raw)
        if kind is None and zip_too:
            kind, zip_too = "zip", False
        if kind not in (None, "pickle", "npy") and depth >= self.limits.max_depth:
            raise ScanLimit(f"archives nested deeper than {self.limits.max_depth}: stopped")
        # pickle.load reads from the first byte whatever the file also is: a tar whose first
        # member's name is a pickle, or a bz2 stream whose "BZh" reads as a BINBYTES that
        # steps over the compressed data to opcodes after it. Such a file is both, and both
        # are scanned; that needs a second pass over the bytes.
        pickle_too = kind not in (None, "pickle") and looks_like_pickle(
            head, complete=len(head) < SNIFF_BYTES
        )
        if pickle_too and not seekable:
            with tempfile.TemporaryFile() as spooled:
                _copy_counted(reader, spooled, self.budget)
                spooled.seek(0)
                self.stream(spooled, where, depth, expect_pickle=expect_pickle, seekable=True)
            return
        if kind == "zip":
            self._zip(raw if seekable else reader, where, depth, seekable)
        elif kind == "tar":
            self._tar(reader, where, depth)
        elif kind == "zfile":
            reader.read(ZFILE_HEADER)
            if reader.peek(1) == b" ":  # joblib <= 0.8.4 wrote one more space
                reader.read(1)
            self._compressed(kind, reader, where, depth)
        elif kind in ("gzip", "bz2", "xz", "lzma", "zlib", "lz4"):
            self._compressed(kind, reader, where, depth)
        elif kind == "npy":
            self._npy(reader, where, depth)
        elif kind == "pickle" or expect_pickle:
            self._pickles(reader, where, expect_pickle)
        if zip_too:
            self._zip(raw, where, depth, True)
        if pickle_too:
            raw.seek(0)
            self._pickles(Peek(raw), where, False)

    def _pickles(self, reader: Peek, where: str, expect_pickle: bool) -> None:
        first = PickleReader(reader, rules=self.rules, budget=self.budget, where=where)
        try:
            first.read_one()
        except NotPickle:
            if expect_pickle:
                raise ScanError("should be a pickle here, but is not one") from None
            return
        except (Truncated, ScanError) as exc:
            self.findings += first.findings
            limit = isinstance(exc, ScanLimit)
            if not (limit or expect_pickle or first.proto or first.globals_seen):
                # Opcodes by chance (text, numbers) that the unpickler would refuse before
                # importing anything: not a pickle.
                return
            if isinstance(exc, Truncated):
                raise ScanError("the pickle ends before its STOP opcode") from None
            raise
        self.findings += first.findings
        self.pickles += 1
        # Loaders such as legacy torch.save read several pickles in a row: read on while
        # the bytes go on being pickles; what follows the last one is data.
        while reader.peek(1):
            more = PickleReader(reader, rules=self.rules, budget=self.budget, where=where)
            try:
                more.read_one()
            except (NotPickle, Truncated, ScanError):
                self.findings += more.findings  # an import before the junk still counts
                return
            self.findings += more.findings
            self.pickles += 1

    def _member(self, raw, where: str, depth: int, *, expect_pickle=False) -> None:
        self.budget.take_member()
        try:
            self.stream(raw, where, depth + 1, expect_pickle=expect_pickle)
        except ScanError as exc:
            self.error(where, str(exc))

    def _compressed(self, kind: str, reader: Peek, where: str, depth: int) -> None:
        label = f"{where} ({kind})" if where else f"({kind})"
        if kind == "lz4":
            raise ScanError("lz4-compressed; the scanner cannot open lz4")
        opener = {
            # Not closed on purpose: they wrap our own reader and hold nothing else.
            "gzip": lambda r: gzip.GzipFile(fileobj=r, mode="rb"),
            "bz2": lambda r: bz2.BZ2File(r),  # noqa: SIM115
            "xz": lambda r: lzma.LZMAFile(r, format=lzma.FORMAT_XZ),  # noqa: SIM115
            "lzma": lambda r: lzma.LZMAFile(r, format=lzma.FORMAT_ALONE),  # noqa: SIM115
            "zlib": ZlibReader,
            "zfile": ZlibReader,
        }[kind]
        inner = Peek(Counted(opener(reader), self.budget))
        if kind in ("lzma", "zlib"):  # weak magic: a stream that does not start is not one
            try:
                inner.peek(1)
            except ScanError:
                return
        self.budget.take_member()
        self.stream(inner, label, depth + 1)

    def _zip(self, raw, where: str, depth: int, seekable: bool) -> None:
        if seekable:
            raw.seek(0)
            self._zip_members(raw, where, depth)
            return
        with tempfile.TemporaryFile() as spooled:  # zip needs to seek: spool, within budget
            _copy_counted(raw, spooled, self.budget)
            spooled.seek(0)
            self._zip_members(spooled, where, depth)

    def _zip_members(self, raw, where: str, depth: int) -> None:
        try:
            archive = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ScanError(f"not a readable zip archive: {exc}") from exc
        with archive:
            infos = archive.infolist()
            if len(infos) + self.budget.members > self.limits.max_members:
                raise ScanLimit(f"more than {self.limits.max_members} archive members: stopped")
            for info in infos:
                if info.is_dir():
                    continue
                name = f"{where}/{info.filename}" if where else info.filename
                try:
                    handle = archive.open(info)
                except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                    self.error(name, f"cannot be opened: {exc}")
                    continue
                # torch.load unpickles <dir>/data.pkl of a zip by its name.
                torch_pickle = info.filename.rsplit("/", 1)[-1] == "data.pkl"
                with handle:
                    self._member(
                        Counted(handle, self.budget), name, depth, expect_pickle=torch_pickle
                    )

    def _tar(self, reader: Peek, where: str, depth: int) -> None:
        try:
            with tarfile.open(fileobj=reader, mode="r|") as archive:
                for info in archive:
                    if not info.isfile():
                        continue
                    name = f"{where}/{info.name}" if where else info.name
                    handle = archive.extractfile(info)
                    if handle is not None:
                        self._member(Counted(handle, self.budget), name, depth)
        except tarfile.TarError as exc:
            raise ScanError(f"not a readable tar archive: {exc}") from exc

    def _npy(self, reader: Peek, where: str, depth: int) -> None:
        """A .npy file is a header then raw data, or a pickle when it holds objects."""
        magic = reader.read(8)
        major = magic[6] if len(magic) > 6 else 0
        size_fmt = "<H" if major == 1 else "<I"
        raw = reader.read(struct.calcsize(size_fmt))
        if len(raw) < struct.calcsize(size_fmt):
            raise ScanError("a .npy header cut short")
        (length,) = struct.unpack(size_fmt, raw)
        if length > 1024 * 1024:
            raise ScanError("a .npy header longer than 1 MB")
        header = reader.read(length)
        if len(header) < length:
            raise ScanError("a .npy header cut short")
        if _npy_holds_objects(header):
            self._pickles(reader, where, expect_pickle=True)


def _npy_holds_objects(header: bytes) -> bool:
    """Does a .npy header's dtype hold Python objects (then the data is a pickle)? Read as
    NumPy reads it (a Python literal: any quotes, 'object', nested fields), failing closed:
    any type string with an O in it counts."""
    try:
        text = header.decode("latin-1" if len(header) < 65536 else "utf-8")
        fields = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, UnicodeDecodeError) as exc:
        raise ScanError(f"a .npy header that cannot be read: {str(exc)[:80]}") from None
    if not isinstance(fields, dict) or "descr" not in fields:
        raise ScanError("a .npy header without a dtype")
    return _descr_holds_objects(fields["descr"], depth=0)


def _descr_holds_objects(descr, *, depth: int) -> bool:
    if depth > 32:
        raise ScanError("a .npy dtype nested too deeply")
    if isinstance(descr, str | bytes):
        text = descr.decode("latin-1") if isinstance(descr, bytes) else descr
        return "o" in text.lower()  # 'O', '|O8', 'object', 'object_'; no other type has one
    if isinstance(descr, list):
        # A structured dtype: [(name, type), (name, type, shape), ...]; names are skipped.
        return any(
            any(_descr_holds_objects(part, depth=depth + 1) for part in field[1:])
            if isinstance(field, tuple | list) and len(field) >= 2
            else _descr_holds_objects(field, depth=depth + 1)
            for field in descr
        )
    if isinstance(descr, tuple):  # (type, shape): every part is a type or a number
        return any(_descr_holds_objects(part, depth=depth + 1) for part in descr)
    if isinstance(descr, dict):
        return any(_descr_holds_objects(v, depth=depth + 1) for v in descr.values())
    # A number is a shape; anything else NumPy might read as a dtype that this cannot:
    # assume it holds objects.
    return not (isinstance(descr, int) and not isinstance(descr, bool))


def _copy_counted(src, dst, budget: Budget) -> None:
    while True:
        chunk = src.read(1024 * 1024)
        if not chunk:
            return
        budget.take_bytes(len(chunk))
        dst.write(chunk)


def _zip_at_end(raw) -> bool:
    try:
        position = raw.tell()
        raw.seek(0)
        found = zipfile.is_zipfile(raw)
        raw.seek(position)
        return found
    except (OSError, ValueError, AttributeError):
        return False
