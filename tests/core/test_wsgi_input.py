"""core/wsgi_input.py: gunicorn's request body read straight from the socket, with gunicorn's
own classes over a real socket pair, so a gunicorn upgrade that changes them fails here."""

import io
import os

from core.wsgi_input import SocketBody, fast_input
from tests.gunicorn_body import gunicorn_body


def _read_all(body, size=1024 * 1024) -> bytes:
    out = []
    while chunk := body.read(size):
        out.append(chunk)
    return b"".join(out)


def test_reads_the_whole_body_and_leaves_the_next_request_to_gunicorn():
    data = os.urandom(3 * 1024 * 1024 + 17)
    body = gunicorn_body(data, after=b"GET /next HTTP/1.1\r\n", read_ahead=5000)
    environ = {"wsgi.input": body}
    fast_input(environ)

    assert isinstance(environ["wsgi.input"], SocketBody)
    assert _read_all(environ["wsgi.input"], 300_000) == data
    assert body.read(8192) == b""  # what gunicorn drains after the response: nothing left
    assert body.reader.unreader.read(20) == b"GET /next HTTP/1.1\r\n"


def test_a_read_asking_for_everything_and_lines_share_one_position():
    data = b"first line\n" + os.urandom(200_000)
    body = gunicorn_body(data, read_ahead=64)
    fast = SocketBody.wrap(body)

    assert fast.readline() == b"first line\n"  # gunicorn's own readline reads ahead
    assert fast.read(-1) == data[11:]
    assert fast.read(10) == b""


def test_a_client_that_goes_away_gives_a_short_read_not_a_hang():
    data = os.urandom(2 * 1024 * 1024)
    body = gunicorn_body(data, send=700_000)
    fast = SocketBody.wrap(body)

    received = _read_all(fast)
    assert received == data[:700_000]
    assert body.read(8192) == b""  # gunicorn's drain after the response returns at once


def test_other_inputs_are_left_alone():
    plain = io.BytesIO(b"x")
    environ = {"wsgi.input": plain}
    fast_input(environ)
    assert environ["wsgi.input"] is plain

    from gunicorn.http.body import Body, ChunkedReader

    chunked = Body(ChunkedReader(None, None))  # Transfer-Encoding: chunked, no length
    environ = {"wsgi.input": chunked}
    fast_input(environ)
    assert environ["wsgi.input"] is chunked
