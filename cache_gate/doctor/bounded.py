"""A network check with one deadline for the whole answer and a memory bound.

A socket timeout bounds each read, not an answer: a server that sends a byte a
second keeps every read alive for ever (a slow-drip Redis held doctor 58 s with
`--timeout 1`). And a client library believes the lengths a server announces (a
`$2000000000` bulk header made redis-py allocate gigabytes). So each check runs in a
forked child with an address-space limit, and the parent waits for its answer until
one deadline, then kills it. What the child returns comes back pickled on a pipe.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Callable
from typing import TypeVar

from cache_gate.errors import InputError

T = TypeVar("T")

# Room a check may take beyond what the process already maps: far more than any
# real answer (INFO is a few KB), far less than a hostile length would claim.
MEMORY_HEADROOM = 256 << 20


class CheckFailed(Exception):
    """The check did not answer in time, ran out of its memory, or broke."""


def _mapped_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:  # noqa: PTH123
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def run_bounded(check: Callable[[], T], *, deadline_s: float) -> T:
    """`check()`, run in a child process that must answer within `deadline_s` and
    map at most MEMORY_HEADROOM more bytes; CheckFailed with the reason otherwise."""
    receive, send = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(receive)
        try:
            limit = _mapped_bytes() + MEMORY_HEADROOM
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            payload = pickle.dumps((True, check()))
        except InputError as exc:  # the user's input, not the server: said as usual
            payload = pickle.dumps((None, str(exc)))
        except MemoryError:
            payload = pickle.dumps((False, "its answer was larger than any real one"))
        except RecursionError:
            payload = pickle.dumps((False, "its answer was nested too deeply"))
        except BaseException as exc:
            payload = pickle.dumps((False, f"the check broke ({type(exc).__name__})"))
        with os.fdopen(send, "wb") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(send)
    answer = None
    try:
        answer = _read_until(receive, time.monotonic() + deadline_s)
    finally:
        os.close(receive)
        if answer is None:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if answer is None:
        raise CheckFailed(f"no complete answer within {deadline_s:g} s")
    if not answer:
        raise CheckFailed("the check ended without an answer")
    ok, value = pickle.loads(answer)
    if ok is None:
        raise InputError(value)
    if not ok:
        raise CheckFailed(value)
    result: T = value
    return result


def _read_until(descriptor: int, deadline: float) -> bytes | None:
    """Everything the child writes, or None when the deadline passes first."""
    chunks: list[bytes] = []
    poller = select.poll()
    poller.register(descriptor, select.POLLIN | select.POLLHUP)
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(int(left * 1000) + 1):
            return None
        chunk = os.read(descriptor, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
