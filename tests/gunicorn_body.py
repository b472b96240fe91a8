"""A request body as gunicorn hands it to the application, fed from a real socket.

`gunicorn_body(data, ...)` returns gunicorn's own Body / LengthReader / SocketUnreader over
one end of a socket pair; a thread writes `data` into the other end (all of it, or the first
`send` bytes, then closes: a client that went away). `read_ahead` bytes are read by gunicorn's
unreader first, as its header parser reads past the headers into the body.
"""

import socket
import threading

from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader


def gunicorn_body(data: bytes, *, send: int | None = None, after: bytes = b"", read_ahead=0):
    client, server = socket.socketpair()
    sent = data[:send] if send is not None else data + after

    def feed():
        try:
            client.sendall(sent)
        finally:
            if send is not None:
                client.close()

    threading.Thread(target=feed, daemon=True).start()
    unreader = SocketUnreader(server)
    if read_ahead:
        unreader.unread(unreader.read(read_ahead))  # bytes past the headers, held back
    body = Body(LengthReader(unreader, len(data)))
    body.test_sockets = (client, server)  # kept open for as long as the body lives
    return body
