"""The files this run has read, so that no report is ever written over one.

`--output .backlog-ops/usage-ledger.jsonl` once turned a ledger into a report. Every
reader of an input notes the file here (by device and inode: a symbolic or hard link
to it is the same file); the report writer refuses any target that is one of them.
A run starts with none noted (`forget_inputs`): an inode noted by an earlier run in the
same process may since have been freed and given to another file.
"""

from __future__ import annotations

import os
from pathlib import Path

_read: dict[tuple[int, int], str] = {}


def note_input(path: Path | str, info: os.stat_result | None = None) -> None:
    """Record that this run reads `path` (`info`: its stat, when the caller has it)."""
    try:
        info = info or Path(path).stat()
    except OSError:
        return
    _read.setdefault((info.st_dev, info.st_ino), str(path))


def input_at(target: Path) -> str | None:
    """The input this run read that `target` is (links followed), or None."""
    try:
        info = target.stat()
    except OSError:
        return None
    return _read.get((info.st_dev, info.st_ino))


def forget_inputs() -> None:
    """Start a run: no file is noted as read yet."""
    _read.clear()
