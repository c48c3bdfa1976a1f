"""Where a report goes: a regular file is replaced atomically, so a CI artifact is whole
or absent; anything else (`/dev/null`, `/dev/stdout`, a FIFO) is written directly and
never replaced, so a device stays a device.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from cache_gate.atomic import replace_atomically
from cache_gate.errors import InputError
from cache_gate.inputs import input_at


def write_report(target: Path, text: str) -> None:
    """Write `text` to `target`, or raise InputError saying why it cannot be written.

    Never over a file this run read (the ledger, the manifest, a prompt file, the
    lock, a settings or config file): a report takes no input's place."""
    read = input_at(target)
    if read is not None:
        which = "" if read == str(target) else f" ({read})"
        raise InputError(f"refusing to write the report to {target}: it is an input of "
                         f"this run{which}; pick another path")
    # backslashreplace: an undecodable file name is written as its escape.
    data = text.encode("utf-8", "backslashreplace")
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _unwritable(target, exc) from None
    try:
        if mode is None or stat.S_ISREG(mode):
            # A uniquely named temporary file, created exclusively beside the target:
            # no fixed name for a planted link to redirect.
            replace_atomically(target, data)
        elif stat.S_ISDIR(mode):
            raise InputError(f"cannot write report to {target}: it is a directory")
        else:
            _write_directly(target, data)
    except OSError as exc:
        raise _unwritable(target, exc) from None


def _write_directly(target: Path, data: bytes) -> None:
    # O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of hanging the run.
    descriptor = os.open(target, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        os.set_blocking(descriptor, True)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
    finally:
        os.close(descriptor)


def _unwritable(target: Path, exc: OSError) -> InputError:
    if exc.errno == errno.ENXIO:
        return InputError(f"cannot write report to {target}: a FIFO that nothing reads")
    return InputError(f"cannot write report to {target}: {exc.strerror or exc}")
