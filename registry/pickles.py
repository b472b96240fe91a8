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
"""

import ast
import bz2
import gzip
import io
import lzma
import pickletools
import re
import struct
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field

from registry.pickle_allowlist import AllowList, is_never

SNIFF_BYTES = 64 * 1024
_MAX_NAME = 1024  # a module or attribute name longer than this cannot be resolved
_MAX_VALUE = 256  # strings kept on the symbolic stack (names are short)
_MAX_ITEMS = 64  # tuple / dict entries kept (joblib's array state is a handful)
_MAX_LINE = 64 * 1024  # a text argument longer than this is stepped over, not kept

_GZIP = b"\x1f\x8b"
_XZ = b"\xfd7zXZ\x00"
_LZ4 = b"\x04\x22\x4d\x18"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_NPY = b"\x93NUMPY"
_BZ2 = re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)", re.S)


class ScanError(Exception):
    """The bytes cannot be read to a verdict (corrupt, truncated, over a limit)."""


class ScanLimit(ScanError):
    """A limit was reached: always an error, whatever was read so far."""


@dataclass
class Limits:
    max_bytes: int = 512 * 1024**2  # bytes read out of containers and decompressors
    max_members: int = 10_000  # members of all archives in one artifact
    max_depth: int = 4  # containers inside containers
    max_opcodes: int = 5_000_000  # opcodes of all pickles in one artifact


@dataclass
class Verdict:
    status: str
    findings: list[dict] = field(default_factory=list)


# --- Reading ------------------------------------------------------------------------------


class _Budget:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.bytes = 0
        self.members = 0
        self.opcodes = 0

    def take_bytes(self, n: int) -> None:
        self.bytes += n
        if self.bytes > self.limits.max_bytes:
            raise ScanLimit(
                f"more than {self.limits.max_bytes} bytes unpacked: stopped (a decompression bomb?)"
            )

    def take_member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise ScanLimit(f"more than {self.limits.max_members} archive members: stopped")

    def take_opcode(self) -> None:
        self.opcodes += 1
        if self.opcodes > self.limits.max_opcodes:
            raise ScanLimit(f"more than {self.limits.max_opcodes} pickle opcodes: stopped")


class _Counted(io.RawIOBase):
    """Bytes coming out of a decompressor or archive, charged to the budget."""

    def __init__(self, raw, budget: _Budget):
        self._raw = raw
        self._budget = budget

    def readable(self):
        return True

    def read(self, n=-1):
        if n is None or n < 0:
            n = 1024 * 1024
        try:
            data = self._raw.read(n)
        except ScanError:
            raise
        except (
            OSError,
            EOFError,
            ValueError,
            zlib.error,
            lzma.LZMAError,
            zipfile.BadZipFile,
            tarfile.TarError,
        ) as exc:
            raise ScanError(f"cannot be unpacked: {exc}") from exc
        self._budget.take_bytes(len(data))
        return data

    def readinto(self, b):
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


class _ZlibReader(io.RawIOBase):
    def __init__(self, raw):
        self._raw = raw
        self._d = zlib.decompressobj()
        self._pending = b""

    def readable(self):
        return True

    def read(self, n=-1):
        n = 1024 * 1024 if n is None or n < 0 else n
        while True:
            if self._d.unconsumed_tail:
                out = self._d.decompress(self._d.unconsumed_tail, n)
            elif self._d.eof:
                return b""
            else:
                chunk = self._raw.read(64 * 1024)
                if not chunk:
                    if not self._d.eof:
                        raise ScanError("zlib stream ends early")
                    return b""
                out = self._d.decompress(chunk, n)
            if out:
                return out


class _Peek:
    """A front-to-back reader that can look ahead and counts its position."""

    CHUNK = 64 * 1024

    def __init__(self, raw):
        self._raw = raw
        self._buf = b""
        self._off = 0
        self.pos = 0

    def _fill(self, n: int) -> None:
        avail = len(self._buf) - self._off
        if avail >= n:
            return
        parts = [self._buf[self._off :]]
        need = n - avail
        while need > 0:
            chunk = self._raw.read(max(need, self.CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            need -= len(chunk)
        self._buf = b"".join(parts)
        self._off = 0

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return self._buf[self._off : self._off + n]

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1024 * 1024
        self._fill(n)
        data = self._buf[self._off : self._off + n]
        self._off += len(data)
        self.pos += len(data)
        return data

    def readline(self, limit: int) -> bytes:
        while True:
            end = min(len(self._buf), self._off + limit)
            i = self._buf.find(b"\n", self._off, end)
            if i >= 0:
                return self.read(i - self._off + 1)
            avail = len(self._buf) - self._off
            if avail >= limit:
                return self.read(limit)
            self._fill(avail + self.CHUNK)
            if len(self._buf) - self._off == avail:
                return self.read(avail)

    def skip(self, n: int) -> None:
        take = min(len(self._buf) - self._off, n)
        self._off += take
        self.pos += take
        n -= take
        while n > 0:
            chunk = self._raw.read(min(n, 1024 * 1024))
            if not chunk:
                raise _Truncated
            n -= len(chunk)
            self.pos += len(chunk)


# --- Telling formats apart ----------------------------------------------------------------


def sniff(head: bytes, *, complete: bool) -> str | None:
    """What the first bytes say: a container format, 'npy', 'pickle', or None. `complete`:
    the head is the whole file."""
    if head.startswith(_GZIP):
        return "gzip"
    if _BZ2.match(head[:10]):
        return "bz2"
    if head.startswith(_XZ):
        return "xz"
    if head.startswith(_LZ4):
        return "lz4"
    if _is_joblib_zfile(head):
        return "zfile"
    if head.startswith(_ZIP):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if _tar_checksum_matches(head):  # an old (V7) tar has no magic; tarfile still reads it
        return "tar"
    if head.startswith(_NPY):
        return "npy"
    if head[:2] == b"\x5d\x00":  # joblib's test: any dictionary size (a pickle never
        return "lzma"  # starts so); weak magic: if it does not decompress, it is not lzma
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"  # weak magic, likewise
    return "pickle" if looks_like_pickle(head, complete=complete) else None


_ZFILE_HEADER = 2 + 19  # b"ZF", then the length in hex padded to 19 characters


def _is_joblib_zfile(head: bytes) -> bool:
    """joblib's old compressed format (joblib.load still reads it): b"ZF", a hex length,
    then a zlib stream holding the pickle. As joblib reads it: any b"ZF" start whose next
    19 bytes parse as a hex number."""
    if not head.startswith(b"ZF") or len(head) < _ZFILE_HEADER:
        return False
    try:
        int(head[2:_ZFILE_HEADER], 16)
    except ValueError:
        return False
    return True


def _tar_checksum_matches(head: bytes) -> bool:
    """Does the first 512-byte block carry a valid tar header checksum (as tarfile checks
    it: the octal field at 148 equals the byte sum with that field counted as spaces)?"""
    if len(head) < 512:
        return False
    field = head[148:156].replace(b"\x00", b" ").strip()
    if not field or not all(48 <= c <= 55 for c in field):
        return False
    block = head[:512]
    unsigned = 256 + sum(block[:148]) + sum(block[156:])
    signed = 256 + sum(struct.unpack("148b", block[:148])) + sum(struct.unpack("356b", block[156:]))
    return int(field, 8) in (unsigned, signed) and any(block[:100])


def might_need_scan(head: bytes, *, complete: bool) -> bool:
    """At upload: could this file hold a pickle (itself, or inside a container)? Cheap,
    and errs towards yes; the scanner then reads the whole file."""
    return sniff(head, complete=complete) is not None


def looks_like_pickle(head: bytes, *, complete: bool) -> bool:
    """Do these bytes read as pickle opcodes from the first byte: to a STOP, to the end of
    an incomplete head, or far enough to import something?"""
    scan = _PickleReader(_Peek(io.BytesIO(head)), rules=_NOTHING_ALLOWED, budget=_Budget(Limits()))
    try:
        scan.read_one()
    except _NotPickle:
        return False
    except _Truncated:  # ran out of bytes: of the head only, or of the whole file
        return bool(scan.globals_seen) or scan.proto or not complete
    except ScanError:  # not a pickle after all, unless it looked like one or imported
        return bool(scan.globals_seen) or scan.proto
    return True


# --- Pickles --------------------------------------------------------------------------------


class _NotPickle(Exception):
    """The first byte is not a pickle opcode."""


class _Truncated(Exception):
    """The bytes end before the pickle's STOP."""


class _Mark:
    pass


MARK = _Mark()


@dataclass(eq=False)
class _Global:
    module: str
    name: str


@dataclass(eq=False)
class _Obj:
    callable: object
    args: object = None
    state: object = None


class _Unknown:
    pass


class _Dict(dict):
    """A dict on the symbolic stack; `incomplete` when some of its keys were not kept."""

    incomplete = False


UNKNOWN = _Unknown()

_STRING_OPS = {
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "UNICODE",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
}
_BIG_ARG_FORMATS = {
    # opcode name: (length prefix format, value kind)
    "BINUNICODE": ("<I", "unicode"),
    "BINUNICODE8": ("<Q", "unicode"),
    "SHORT_BINUNICODE": ("<B", "unicode"),
    "BINSTRING": ("<i", "string"),
    "SHORT_BINSTRING": ("<B", "string"),
    "BINBYTES": ("<I", "bytes"),
    "SHORT_BINBYTES": ("<B", "bytes"),
    "BINBYTES8": ("<Q", "bytes"),
    "BYTEARRAY8": ("<Q", "bytes"),
}


_OPS = [None] * 256
for _op in pickletools.opcodes:
    _OPS[ord(_op.code)] = _op
# Opcodes that only push one value, a number, None, a bool, bytes or an empty container.
_PLAIN_PUSH = frozenset(
    op.name
    for op in pickletools.opcodes
    if not op.stack_before
    and len(op.stack_after) == 1
    and op.name not in _STRING_OPS
    and op.name
    not in (
        "GLOBAL",
        "MARK",
        "EMPTY_TUPLE",
        "EMPTY_DICT",
        "GET",
        "BINGET",
        "LONG_BINGET",
        "EXT1",
        "EXT2",
        "EXT4",
        "INST",
    )
)


_NOTHING_ALLOWED = AllowList(())
_NAME_CHARS = re.compile(rb"^[A-Za-z0-9_.\x80-\xff]*$")
MAX_FINDINGS = 100  # listed per artifact; the rest are counted


class _PickleReader:
    """Reads pickles from a _Peek, recording the globals they import."""

    def __init__(self, reader: _Peek, *, rules: AllowList, budget: _Budget, where=""):
        self.reader = reader
        self.rules = rules
        self.budget = budget
        self.where = where
        self.findings: list[dict] = []
        self.globals_seen = 0
        self.proto = False  # the first pickle opened with a PROTO opcode (protocol 2+)
        self._seen: set[tuple[str, str]] = set()

    # -- findings
    def _import(self, module: str, name: str, *, resolved: bool = True) -> _Global:
        if resolved and not all(part.isidentifier() for part in module.split(".")):
            # Text such as "channels:\n- conda-forge\n" reads as GLOBAL; a module name
            # that is not a dotted identifier cannot be imported, so the unpickler stops
            # there having run nothing. Not a pickle (unless it imported something before).
            raise ScanError(f"a global from {module[:60]!r}, which is not a module name")
        self.globals_seen += 1
        if not self.rules.allows(module, name) and (module, name) not in self._seen:
            self._seen.add((module, name))
            finding = {
                "module": module,
                "name": name,
                "safety": "dangerous" if is_never(module, name) else "not allow-listed",
            }
            if self.where:
                finding["member"] = self.where
            self.findings.append(finding)
        return _Global(module, name)

    def _unresolved(self, why: str) -> _Global:
        return self._import("?", f"<{why}>", resolved=False)

    # -- reading
    def read_one(self) -> None:
        """Read one pickle up to and including its STOP."""
        stack: list = []
        marks: list[int] = []
        memo: dict = {}
        reader, budget, step = self.reader, self.budget, self._step
        limit = budget.limits.max_opcodes
        first = True
        while True:
            if reader._off < len(reader._buf):  # the hot path: one byte from the buffer
                byte = reader._buf[reader._off]
                reader._off += 1
                reader.pos += 1
            else:
                code = reader.read(1)
                if not code:
                    if first:
                        raise _NotPickle
                    raise _Truncated
                byte = code[0]
            op = _OPS[byte]
            if op is None:
                if first:
                    raise _NotPickle
                raise ScanError(f"byte {reader.pos - 1} is not a pickle opcode")
            if first and byte == 0x80:
                self.proto = True
            first = False
            budget.opcodes += 1
            if budget.opcodes > limit:
                raise ScanLimit(f"more than {limit} pickle opcodes: stopped")
            arg = None if op.arg is None else self._arg(op)
            if byte == 0x2E:  # STOP
                return
            step(op, arg, stack, marks, memo)

    def _arg(self, op):
        name = op.name
        if name in ("GLOBAL", "INST"):
            module = self.reader.readline(_MAX_NAME)
            attr = self.reader.readline(_MAX_NAME) if module.endswith(b"\n") else b""
            if not module.endswith(b"\n") or not attr.endswith(b"\n"):
                if len(module) >= _MAX_NAME and not _NAME_CHARS.match(module):
                    raise ScanError("a GLOBAL whose module is not a module name")
                if len(module) >= _MAX_NAME or len(attr) >= _MAX_NAME:
                    return self._unresolved("a name too long to read")
                raise _Truncated
            return self._import(
                module[:-1].decode("utf-8", "replace"), attr[:-1].decode("utf-8", "replace")
            )
        if name in _BIG_ARG_FORMATS:
            fmt, kind = _BIG_ARG_FORMATS[name]
            size = struct.calcsize(fmt)
            raw = self.reader.read(size)
            if len(raw) < size:
                raise _Truncated
            (length,) = struct.unpack(fmt, raw)
            if length < 0:
                raise ScanError(f"{name} with a negative length")
            if length > _MAX_VALUE:
                self.reader.skip(length)
                return UNKNOWN
            data = self.reader.read(length)
            if len(data) < length:
                raise _Truncated
            if kind == "unicode":
                return data.decode("utf-8", "replace")
            return data.decode("latin-1") if kind == "string" else data
        if op.arg is None:
            return None
        if op.arg.n == pickletools.UP_TO_NEWLINE:
            line = self.reader.readline(_MAX_LINE)
            if not line.endswith(b"\n"):
                if len(line) < _MAX_LINE:
                    raise _Truncated
                while not line.endswith(b"\n"):  # the unpickler reads any length: so do we
                    line = self.reader.readline(_MAX_LINE)
                    if not line:
                        raise _Truncated
                if name in ("PUT", "GET"):
                    raise ScanError(f"a {name} index longer than {_MAX_LINE} bytes")
                return UNKNOWN
            if name in ("PUT", "GET"):  # parsed as the unpickler parses them
                try:
                    return int(line)
                except ValueError:
                    raise ScanError(f"{name} with an index that is not a number") from None
            data = io.BytesIO(line)
        elif op.arg.n >= 0:
            data = self.reader.read(op.arg.n)
            if len(data) < op.arg.n:
                raise _Truncated
            data = io.BytesIO(data)
        elif name == "LONG4":  # a 4-byte length, then the number's bytes
            raw = self.reader.read(4)
            if len(raw) < 4:
                raise _Truncated
            (length,) = struct.unpack("<i", raw)
            if length < 0:
                raise ScanError("LONG4 with a negative length")
            self.reader.skip(length)
            return UNKNOWN
        else:  # LONG1: one length byte, then at most 255 bytes
            data = self.reader
        try:
            value = op.arg.reader(data)
        except Exception:
            if not self.reader.peek(1):
                raise _Truncated from None
            # pickletools is stricter than the unpickler about some values (INT "0x10",
            # "1L"): the value does not matter here, so read on rather than stop, which
            # could hide an import that follows.
            return UNKNOWN
        if isinstance(value, str) and len(value) > _MAX_VALUE:
            return UNKNOWN
        return value

    # The unpickler refuses to pop past the last MARK or an empty stack, before running
    # anything more; so does this reader (the file is then not a pickle it could load).
    @staticmethod
    def _top(stack):
        if not stack or stack[-1] is MARK:
            raise ScanError("pickle stack underflow")
        return stack[-1]

    def _pop(self, stack, n=1):
        items = []
        for _ in range(n):
            items.append(self._top(stack))
            stack.pop()
        return items[::-1]

    def _pop_mark(self, stack, marks):
        if not marks:
            raise ScanError("pickle opcode without its MARK")
        at = marks.pop()
        items = stack[at:]
        del stack[at:]
        return [i for i in items if i is not MARK]

    def _step(self, op, arg, stack, marks, memo):  # noqa: C901  (one branch per opcode family)
        name = op.name
        if name in _PLAIN_PUSH:
            stack.append(arg if isinstance(arg, int | float | bool | bytes) else UNKNOWN)
            return
        if name == "POP" and stack and stack[-1] is not MARK:
            stack.pop()
            return
        if name == "MARK":
            marks.append(len(stack))
            stack.append(MARK)
            return
        if name in ("GLOBAL",):
            stack.append(arg)
            return
        if name == "INST":
            self._pop_mark(stack, marks)
            stack.append(_Obj(arg))
            return
        if name == "STACK_GLOBAL":
            module, attr = self._pop(stack, 2)
            if isinstance(module, str) and isinstance(attr, str):
                stack.append(self._import(module, attr))
            elif module is UNKNOWN or attr is UNKNOWN or isinstance(module, _Obj | _Global):
                stack.append(self._unresolved("a name built at load time"))
            else:  # a number, bytes, a tuple: the unpickler refuses before importing
                raise ScanError("STACK_GLOBAL without two names")
            return
        if name in ("EXT1", "EXT2", "EXT4"):
            stack.append(self._import("copyreg", f"<extension {arg}>"))
            return
        if name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = self._top(stack)
            return
        if name == "MEMOIZE":
            memo[len(memo)] = self._top(stack)
            return
        if name in ("GET", "BINGET", "LONG_BINGET"):
            if arg not in memo:
                raise ScanError("pickle memo value not found")
            stack.append(memo[arg])
            return
        if name == "DUP":
            stack.append(self._top(stack))
            return
        if name == "POP":
            if stack and stack[-1] is MARK:
                self._pop_mark(stack, marks)
            else:
                self._pop(stack)
            return
        if name == "POP_MARK":
            self._pop_mark(stack, marks)
            return
        if name in ("TUPLE", "LIST", "DICT", "FROZENSET", "OBJ"):
            items = self._pop_mark(stack, marks)
            if name == "TUPLE":
                stack.append(tuple(items) if len(items) <= _MAX_ITEMS else UNKNOWN)
            elif name == "DICT":
                stack.append(self._dict(items))
            elif name == "OBJ":
                stack.append(_Obj(items[0] if items else UNKNOWN, tuple(items[1:])))
            else:
                stack.append(UNKNOWN)
            return
        if name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            stack.append(tuple(self._pop(stack, int(name[-1]))))
            return
        if name == "EMPTY_TUPLE":
            stack.append(())
            return
        if name == "EMPTY_DICT":
            stack.append(_Dict())
            return
        if name in ("SETITEM", "SETITEMS"):
            items = self._pop(stack, 2) if name == "SETITEM" else self._pop_mark(stack, marks)
            target = self._top(stack)
            if isinstance(target, dict):
                more = self._dict(items)
                target.update(more)
                if more.incomplete or len(target) > _MAX_ITEMS:
                    target.incomplete = True
            return
        if name in ("APPEND", "APPENDS", "ADDITEMS"):
            if name == "APPEND":
                self._pop(stack)
            else:
                self._pop_mark(stack, marks)
            self._top(stack)  # the list or set they add to
            return
        if name in ("REDUCE", "NEWOBJ"):
            func, args = self._pop(stack, 2)
            stack.append(_Obj(func, args))
            return
        if name == "NEWOBJ_EX":
            cls, args, _kwargs = self._pop(stack, 3)
            stack.append(_Obj(cls, args))
            return
        if name == "BUILD":
            (state,) = self._pop(stack)
            target = self._top(stack)
            if isinstance(target, _Obj):
                target.state = state
                if _is_array_wrapper(target):
                    self._joblib_array(state)
            return
        if name in _STRING_OPS:
            stack.append(arg if isinstance(arg, str) else UNKNOWN)
            return
        if name == "BINPERSID":
            self._pop(stack)
            stack.append(UNKNOWN)
            return
        # Everything else pushes one value (numbers, None, bools, bytes, empty containers,
        # PERSID, NEXT_BUFFER) or leaves the stack as it is (PROTO, FRAME, READONLY_BUFFER).
        if name == "READONLY_BUFFER":
            return
        self._pop(stack, len(op.stack_before))
        for _ in op.stack_after:
            stack.append(arg if isinstance(arg, int | float | bool | bytes) else UNKNOWN)

    @staticmethod
    def _dict(items) -> "_Dict":
        out = _Dict()
        for key, value in zip(items[::2], items[1::2], strict=False):
            if isinstance(key, str | int) and (key in out or len(out) < _MAX_ITEMS):
                out[key] = value
            else:  # a key built at load time, or one too many: the dict is not known
                out.incomplete = True
        return out

    def _joblib_array(self, state) -> None:
        """joblib writes an array's bytes right after its wrapper's BUILD, or a nested
        pickle for an object array. Step over the bytes; scan the nested pickle."""
        if not isinstance(state, dict) or getattr(state, "incomplete", False):
            # joblib sizes the bytes from this state: a key the scanner could not follow
            # (built at load time, or past the ones it keeps) could change the size.
            raise ScanError("a joblib array whose state cannot be read")
        itemsize, has_object = _dtype_layout(state.get("dtype"))
        if has_object:
            try:
                self.read_one()
            except _NotPickle:  # not "no pickle in the file": this one is cut short
                raise ScanError("a joblib object array whose data is not a pickle") from None
            return
        shape = state.get("shape")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ScanError("a joblib array whose shape cannot be read")
        count = 1
        for n in shape:
            count *= n
        if state.get("numpy_array_alignment_bytes") is not None:
            padding = self.reader.read(1)
            if not padding:
                raise _Truncated
            self.reader.skip(padding[0])
        self.reader.skip(count * itemsize)


def _is_wrapper_class(value) -> bool:
    return (
        isinstance(value, _Global)
        and value.module == "joblib.numpy_pickle"
        and value.name == "NumpyArrayWrapper"
    )


# Allowed callables that make an instance of the class given as their first argument
# without calling it: copyreg._reconstructor (protocols 0 and 1) and NumPy's masked-array
# reconstructor (`subtype.__new__(subtype, ...)`).
_MAKES_FIRST_ARG = {
    ("copyreg", "_reconstructor"),
    ("copy_reg", "_reconstructor"),
    ("numpy.ma.core", "_mareconstruct"),
}


def _is_array_wrapper(obj: _Obj) -> bool:
    """Is this object, as joblib's unpickler will see it, a NumpyArrayWrapper (whose BUILD
    is followed by raw array bytes)? Whichever way it was made: joblib checks the instance's
    class, not how it was built."""
    callable_ = obj.callable
    if _is_wrapper_class(callable_):
        return True
    if isinstance(callable_, _Global) and (callable_.module, callable_.name) in _MAKES_FIRST_ARG:
        if not isinstance(obj.args, tuple) or not obj.args:
            raise ScanError(f"a {callable_.name} call whose class cannot be read")
        first = obj.args[0]
        if _is_wrapper_class(first):
            return True
        if not isinstance(first, _Global):
            raise ScanError(f"a {callable_.name} call whose class cannot be read")
    return False


def _dtype_layout(dtype) -> tuple[int, bool]:
    """(item size, holds Python objects) of a pickled numpy.dtype, without NumPy."""
    if not (
        isinstance(dtype, _Obj)
        and isinstance(dtype.callable, _Global)
        and dtype.callable.name == "dtype"
        and isinstance(dtype.args, tuple)
        and dtype.args
        and isinstance(dtype.args[0], str)
    ):
        raise ScanError("a joblib array whose dtype cannot be read")
    typestr = dtype.args[0]
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    flags = state[7] if len(state) > 7 and isinstance(state[7], int) else 0
    elsize = state[5] if len(state) > 5 and isinstance(state[5], int) else -1
    if typestr.startswith("O"):
        return 0, True
    # NumPy takes the state's element size and flags only for flexible types (bytes, str,
    # void); for a fixed-size type it keeps its own ('f8' is 8 bytes whatever the state
    # says). A state that disagrees would make this reader step over a different number of
    # bytes than joblib reads, hiding opcodes: refuse it rather than guess.
    flexible = typestr.lstrip("<>|=")[:1] in ("S", "U", "V", "a")
    if flexible:
        if flags & 1:
            return 0, True
        if elsize <= 0:  # NumPy's item size is then the state's (0 or -1): unreadable
            raise ScanError(f"a joblib array of dtype {typestr[:20]!r} with no element size")
        return elsize, False
    match = re.fullmatch(r"[<>|=]?[a-zA-Z?](\d+)", typestr)
    if not match or int(match[1]) <= 0:
        raise ScanError(f"a joblib array of dtype {typestr[:20]!r} the scanner cannot size")
    size = int(match[1])
    if not flexible and (flags & 1 or (elsize > 0 and elsize != size)):
        raise ScanError(f"a joblib array whose {typestr[:20]!r} dtype state does not match it")
    return size, False


# --- Files and containers -----------------------------------------------------------------


class _Scan:
    def __init__(self, rules, limits: Limits):
        self.rules = rules
        self.budget = _Budget(limits)
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
        reader = _Peek(raw)
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
            reader.read(_ZFILE_HEADER)
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
            self._pickles(_Peek(raw), where, False)

    def _pickles(self, reader: _Peek, where: str, expect_pickle: bool) -> None:
        first = _PickleReader(reader, rules=self.rules, budget=self.budget, where=where)
        try:
            first.read_one()
        except _NotPickle:
            if expect_pickle:
                raise ScanError("should be a pickle here, but is not one") from None
            return
        except (_Truncated, ScanError) as exc:
            self.findings += first.findings
            limit = isinstance(exc, ScanLimit)
            if not (limit or expect_pickle or first.proto or first.globals_seen):
                # Opcodes by chance (text, numbers) that the unpickler would refuse before
                # importing anything: not a pickle.
                return
            if isinstance(exc, _Truncated):
                raise ScanError("the pickle ends before its STOP opcode") from None
            raise
        self.findings += first.findings
        self.pickles += 1
        # Loaders such as legacy torch.save read several pickles in a row: read on while
        # the bytes go on being pickles; what follows the last one is data.
        while reader.peek(1):
            more = _PickleReader(reader, rules=self.rules, budget=self.budget, where=where)
            try:
                more.read_one()
            except (_NotPickle, _Truncated, ScanError):
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

    def _compressed(self, kind: str, reader: _Peek, where: str, depth: int) -> None:
        label = f"{where} ({kind})" if where else f"({kind})"
        if kind == "lz4":
            raise ScanError("lz4-compressed; the scanner cannot open lz4")
        opener = {
            # Not closed on purpose: they wrap our own reader and hold nothing else.
            "gzip": lambda r: gzip.GzipFile(fileobj=r, mode="rb"),
            "bz2": lambda r: bz2.BZ2File(r),  # noqa: SIM115
            "xz": lambda r: lzma.LZMAFile(r, format=lzma.FORMAT_XZ),  # noqa: SIM115
            "lzma": lambda r: lzma.LZMAFile(r, format=lzma.FORMAT_ALONE),  # noqa: SIM115
            "zlib": _ZlibReader,
            "zfile": _ZlibReader,
        }[kind]
        inner = _Peek(_Counted(opener(reader), self.budget))
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
                        _Counted(handle, self.budget), name, depth, expect_pickle=torch_pickle
                    )

    def _tar(self, reader: _Peek, where: str, depth: int) -> None:
        try:
            with tarfile.open(fileobj=reader, mode="r|") as archive:
                for info in archive:
                    if not info.isfile():
                        continue
                    name = f"{where}/{info.name}" if where else info.name
                    handle = archive.extractfile(info)
                    if handle is not None:
                        self._member(_Counted(handle, self.budget), name, depth)
        except tarfile.TarError as exc:
            raise ScanError(f"not a readable tar archive: {exc}") from exc

    def _npy(self, reader: _Peek, where: str, depth: int) -> None:
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


def _copy_counted(src, dst, budget: _Budget) -> None:
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


def scan_stream(raw, *, rules, limits: Limits, expect_pickle=False, seekable=False) -> Verdict:
    """The verdict on one file, read from `raw` (a binary file object)."""
    scan = _Scan(rules, limits)
    try:
        scan.stream(raw, "", 0, expect_pickle=expect_pickle, seekable=seekable)
    except ScanError as exc:
        scan.error("", str(exc))
    except (OSError, EOFError, zlib.error, lzma.LZMAError, tarfile.TarError) as exc:
        scan.error("", f"cannot be read: {exc}")
    if scan.findings:
        listed = scan.findings[:MAX_FINDINGS]
        if len(scan.findings) > MAX_FINDINGS:
            more = len(scan.findings) - MAX_FINDINGS
            listed.append({"error": f"and {more} more globals outside the allow-list"})
        return Verdict("flagged", listed + scan.errors[:MAX_FINDINGS])
    if scan.errors:
        return Verdict("error", scan.errors[:MAX_FINDINGS])
    if scan.pickles:
        return Verdict("clean", [])
    return Verdict("not_applicable", [])
