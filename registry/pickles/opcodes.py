"""The opcode reader: one pickle read opcode by opcode with a small symbolic stack, naming
every global it would import. Nothing is unpickled.
"""

import io
import pickletools
import re
import struct
from dataclasses import dataclass

from registry.pickle_allowlist import AllowList, is_never
from registry.pickles.common import (
    _MAX_ITEMS,
    _MAX_LINE,
    _MAX_NAME,
    _MAX_VALUE,
    NotPickle,
    ScanError,
    ScanLimit,
    Truncated,
)
from registry.pickles.streams import Budget, Peek

# --- Pickles --------------------------------------------------------------------------------


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


class PickleReader:
    """Reads pickles from a Peek, recording the globals they import."""

    def __init__(self, reader: Peek, *, rules: AllowList, budget: Budget, where=""):
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
                        raise NotPickle
                    raise Truncated
                byte = code[0]
            op = _OPS[byte]
            if op is None:
                if first:
                    raise NotPickle
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
                raise Truncated
            return self._import(
                module[:-1].decode("utf-8", "replace"), attr[:-1].decode("utf-8", "replace")
            )
        if name in _BIG_ARG_FORMATS:
            fmt, kind = _BIG_ARG_FORMATS[name]
            size = struct.calcsize(fmt)
            raw = self.reader.read(size)
            if len(raw) < size:
                raise Truncated
            (length,) = struct.unpack(fmt, raw)
            if length < 0:
                raise ScanError(f"{name} with a negative length")
            if length > _MAX_VALUE:
                self.reader.skip(length)
                return UNKNOWN
            data = self.reader.read(length)
            if len(data) < length:
                raise Truncated
            if kind == "unicode":
                return data.decode("utf-8", "replace")
            return data.decode("latin-1") if kind == "string" else data
        if op.arg is None:
            return None
        if op.arg.n == pickletools.UP_TO_NEWLINE:
            line = self.reader.readline(_MAX_LINE)
            if not line.endswith(b"\n"):
                if len(line) < _MAX_LINE:
                    raise Truncated
                while not line.endswith(b"\n"):  # the unpickler reads any length: so do we
                    line = self.reader.readline(_MAX_LINE)
                    if not line:
                        raise Truncated
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
                raise Truncated
            data = io.BytesIO(data)
        elif name == "LONG4":  # a 4-byte length, then the number's bytes
            raw = self.reader.read(4)
            if len(raw) < 4:
                raise Truncated
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
                raise Truncated from None
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
            except NotPickle:  # not "no pickle in the file": this one is cut short
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
                raise Truncated
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
