"""Reading within the budget: counted bytes and members, a zlib reader, and a stream that can
be peeked at.
"""

import io
import lzma
import tarfile
import zipfile
import zlib

from registry.pickles.common import Limits, ScanError, ScanLimit, Truncated

# --- Reading ------------------------------------------------------------------------------


class Budget:
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


class Counted(io.RawIOBase):
    """Bytes coming out of a decompressor or archive, charged to the budget."""

    def __init__(self, raw, budget: Budget):
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


class ZlibReader(io.RawIOBase):
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


class Peek:
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
                raise Truncated
            n -= len(chunk)
            self.pos += len(chunk)
