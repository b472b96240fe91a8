"""The production stack for the test suite: a local S3-compatible endpoint (moto's server,
a separate process on loopback) and real Celery worker processes on Redis.

Switched on by ATTEST_TEST_STACK=1 (see .ci/run). The S3 endpoint starts when the test
settings load, before Django reads them; the worker starts once the test database exists.
Everything runs over real connections; nothing is mocked in-process.
"""

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STACK_ENABLED = os.environ.get("ATTEST_TEST_STACK") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"gave up waiting for {what} after {timeout}s")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310  (loopback only)
            return True
    except OSError:
        return False


class Process:
    """A child process we start, stop and kill, with its output kept in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict | None = None):
        self.name, self.argv = name, argv
        self.env = {**os.environ, **(env or {})}
        self.log_path = Path(os.environ.get("ATTEST_TEST_LOG_DIR", "/tmp")) / f"attest-{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self):
        log = open(self.log_path, "ab")  # noqa: SIM115  (kept open for the child's life)
        self.proc = subprocess.Popen(  # noqa: S603
            self.argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        """Kill the whole process group (a Celery worker has pool children)."""
        if self.alive():
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines=40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class S3Endpoint(Process):
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)])

    def start(self):
        super().start()
        wait_for(lambda: _http_ok(f"{self.url}/moto-api/"), timeout=30, what="the S3 endpoint")
        return self


PROXIES: dict[str, "TcpProxy"] = {}


def boot_stack_for_settings() -> None:
    """Called by tests/settings.py in the test process: start the S3 endpoint, put
    cuttable proxies in front of it and of Redis, and point the settings at them.
    Worker processes inherit the resulting environment and skip this."""
    if not STACK_ENABLED or os.environ.get("ARTIFACT_S3_ENDPOINT_URL"):
        return
    endpoint = S3Endpoint().start()
    atexit.register(endpoint.stop)
    s3_proxy = PROXIES["s3"] = TcpProxy(endpoint.port).start()
    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    from urllib.parse import urlsplit

    parts = urlsplit(broker)
    redis_proxy = PROXIES["redis"] = TcpProxy(parts.port or 6379).start()
    os.environ["CELERY_BROKER_URL"] = (
        f"{parts.scheme}://127.0.0.1:{redis_proxy.port}{parts.path or '/15'}"
    )
    os.environ.update(
        ARTIFACT_STORAGE="s3",
        ARTIFACT_S3_ENDPOINT_URL=f"http://127.0.0.1:{s3_proxy.port}",
        ARTIFACT_S3_BUCKET=os.environ.get("ARTIFACT_S3_BUCKET", "attest-test"),
        ARTIFACT_S3_ACCESS_KEY_ID="testing",
        ARTIFACT_S3_SECRET_ACCESS_KEY="testing",  # noqa: S105  (moto accepts any)
    )
    import boto3

    boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
    ).create_bucket(Bucket=os.environ["ARTIFACT_S3_BUCKET"])


class CeleryWorker(Process):
    def __init__(self, database_name: str, name="worker"):
        from django.conf import settings

        db = settings.DATABASES["default"]
        url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
            f"{database_name}"
        )
        super().__init__(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"{name}@%h",
            ],
            env={"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": url},
        )

    def start(self):
        super().start()
        wait_for(
            lambda: "ready." in self.log_tail(200) or not self.alive(),
            timeout=60,
            what="the Celery worker",
        )
        if not self.alive():
            raise RuntimeError(f"the Celery worker died on start:\n{self.log_tail()}")
        return self


class TcpProxy:
    """A loopback TCP forwarder the failure tests can cut: it stands between Attest and a
    dependency (S3 endpoint, Redis) so a test can make that dependency 'go away' mid-way
    and come back, without touching the real service."""

    def __init__(self, upstream_port: int, port: int | None = None):
        import threading

        self.upstream_port = upstream_port
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._cut_after: int | None = None
        self._forwarded = 0

    def start(self):
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()
        return self

    def _accept_loop(self, listener):
        import threading

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: the dependency is 'gone'
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
                upstream.settimeout(None)  # idle broker connections must stay open
            except OSError:
                client.close()
                continue
            with self._lock:
                # A connection accepted while cut() ran must not outlive the cut.
                alive = self._listener is listener
                if alive:
                    self._sockets.update({client, upstream})
            if not alive:
                for sock in (client, upstream):
                    with contextlib.suppress(OSError):
                        sock.close()
                return
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    self._forwarded += len(data)
                    over = self._cut_after is not None and self._forwarded >= self._cut_after
                if over:
                    self.cut()
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with self._lock:
                    self._sockets.discard(sock)
                with contextlib.suppress(OSError):
                    sock.close()

    def cut(self):
        """Refuse new connections and drop every open one."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = list(self._sockets), set()
            self._cut_after = None
        if listener is not None:
            listener.close()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass

    def cut_after_bytes(self, count: int):
        """Let `count` more bytes through, then cut."""
        with self._lock:
            self._cut_after = self._forwarded + count

    def restore(self):
        if self._listener is None:
            self.start()

    @property
    def is_up(self) -> bool:
        return self._listener is not None
