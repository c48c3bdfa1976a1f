"""Forked reader processes: each runs its work and answers, pickled, on a pipe.

`pickle` is imported by the first fork: a hook's small ledger is read in one process,
and its start-up does not pay for it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from cache_gate.errors import InputError


def fork(work: Callable[[], object], path: str) -> tuple[int, int]:
    """Run `work` in a forked child: its (pid, the pipe its pickled answer comes on)."""
    import pickle

    receive, send = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(receive)
        try:
            payload = pickle.dumps((True, work()))
        except InputError as exc:
            payload = pickle.dumps((False, exc))
        except BaseException as exc:
            payload = pickle.dumps((False, InputError(f"reading {path}: {exc}")))
        with os.fdopen(send, "wb") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(send)
    return pid, receive


def collect(pid: int, receive: int) -> Any:
    """A forked child's answer (its exception raised here)."""
    import pickle

    with os.fdopen(receive, "rb") as pipe:
        payload = pipe.read()
    os.waitpid(pid, 0)
    if not payload:
        raise InputError("a ledger reader process died without an answer")
    ok, value = pickle.loads(payload)
    if not ok:
        raise value
    return value
