"""Password hashing at the lowest CPU priority.

Every sign-in attempt that reaches the authentication backend costs one PBKDF2 hash (about
a second of one core at Django's 1,000,000 iterations): the user's, or for a username that
does not exist a dummy one, so the answer takes as long either way. Under a sign-in flood
those hashes compete with everyone else's requests for the CPU. This hasher computes the
same PBKDF2-SHA256 (same algorithm name and format: existing hashes verify unchanged) in a
per-process helper thread that has lowered its own scheduling priority
(`PASSWORD_HASH_NICE`, default 19; at 19 also Linux's SCHED_IDLE class): when the machine
is idle a hash takes as long as ever; when it is busy, uploads and page views go first and
the sign-in waits. hashlib's PBKDF2 releases the GIL, so the request threads of the same
process are not held up either.
Existing and unknown usernames are hashed the same way, so timing still tells nothing."""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

_executor: ThreadPoolExecutor | None = None
_executor_pid: int | None = None
_lock = threading.Lock()


def _nice() -> int:
    return int(getattr(settings, "ATTEST_PASSWORD_HASH_NICE", 19))


def _lower_own_priority(nice: int) -> None:
    # On Linux, setpriority() with a thread id changes that thread only.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    if nice >= 19:  # the lowest: Linux's idle class, which yields to any other thread at once
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _hash_executor() -> ThreadPoolExecutor:
    global _executor, _executor_pid
    with _lock:
        if _executor is None or _executor_pid != os.getpid():  # new after a fork
            _executor = ThreadPoolExecutor(
                max_workers=2,
                thread_name_prefix="attest-password-hash",
                initializer=_lower_own_priority,
                initargs=(_nice(),),
            )
            _executor_pid = os.getpid()
        return _executor


class LowPriorityPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2-SHA256, computed at low CPU priority (see the module docstring)."""

    def encode(self, password, salt, iterations=None):
        if _nice() <= 0:
            return super().encode(password, salt, iterations)
        parent = super()
        return _hash_executor().submit(parent.encode, password, salt, iterations).result()
