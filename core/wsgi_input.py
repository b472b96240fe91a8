"""A faster request body for gunicorn: large reads go straight to the socket.

gunicorn's request body (`gunicorn.http.body.Body`) reads a body of known length 1 KiB at a
time, each KiB cut from an 8 KiB `recv` and the rest put back through a fresh BytesIO: about
eight Python calls and three copies per 8 KiB. A 2 GiB upload spent more CPU there than in
everything else the server does with its bytes (docs/performance.md, "Uploads").

`fast_input(environ)` swaps `wsgi.input` for a `SocketBody` when, and only when, the request
came through gunicorn with a Content-Length body that nothing has read yet. A SocketBody
first hands out what gunicorn already holds (its own read-ahead past the headers), then fills
each read with `recv_into` straight from the socket, and keeps gunicorn's count of what is
left (`LengthReader.length`) exact, so gunicorn's clean-up after the response (it drains an
unread body before the next request on a kept-alive connection) and its error handling work
as before. A client that disconnects makes a read come back short, as with gunicorn's own
reader; Django then sees fewer bytes than Content-Length (registry.uploads.body_cut_short).

Anything else (chunked bodies, other servers, the test client) keeps its input untouched.
The attributes it relies on are checked by tests/core/test_wsgi_input.py against the
installed gunicorn, so an upgrade that changes them fails there, not in production.
"""

_MAX_READ = 4 * 1024 * 1024  # a read asking for "everything" still comes in pieces this big


def fast_input(environ) -> None:
    body = environ.get("wsgi.input")
    replacement = SocketBody.wrap(body)
    if replacement is not None:
        environ["wsgi.input"] = replacement


class SocketBody:
    """A gunicorn Content-Length body read straight from its socket (see module docs)."""

    @classmethod
    def wrap(cls, body):
        try:
            from gunicorn.http.body import Body, LengthReader
            from gunicorn.http.unreader import SocketUnreader
        except ImportError:  # not running under gunicorn
            return None
        if type(body) is not Body:
            return None
        reader = getattr(body, "reader", None)
        if type(reader) is not LengthReader or type(reader.unreader) is not SocketUnreader:
            return None
        return cls(body, reader)

    def __init__(self, body, reader):
        self._body = body
        self._reader = reader
        self._unreader = reader.unreader
        self._sock = reader.unreader.sock

    def read(self, size=-1):
        pending = self._body.buf.getvalue()  # bytes gunicorn's Body read ahead (readline)
        if pending:
            self._body.buf = type(self._body.buf)()
        remaining = self._reader.length
        if size is None or size < 0:
            size = len(pending) + remaining
        if len(pending) >= size:
            self._body.buf.write(pending[size:])
            return pending[:size]
        want = min(size - len(pending), remaining, _MAX_READ)
        if want <= 0:
            return pending
        out = bytearray(want)
        view = memoryview(out)
        got = 0
        buffered = self._unreader.take_buffered()  # read past the headers, not yet handed out
        if buffered:
            got = min(len(buffered), want)
            view[:got] = buffered[:got]
            if len(buffered) > got:
                self._unreader.unread(buffered[got:])
        while got < want:
            n = self._sock.recv_into(view[got:], want - got)
            if not n:  # the client went away: a short read, as gunicorn's own reader gives
                break
            got += n
        view.release()
        self._reader.length -= got
        del out[got:]
        return pending + bytes(out) if pending else bytes(out)

    def readline(self, size=-1):
        # Lines are short and rare in bodies (Django reads multipart with read()): the
        # stock reader is fine, and shares this object's accounting (Body.buf, length).
        return self._body.readline(size)

    def readlines(self, hint=None):
        return self._body.readlines(hint)

    def __iter__(self):
        return iter(self.readline, b"")
