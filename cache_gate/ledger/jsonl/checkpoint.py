"""The checkpoint a run over a ledger leaves for the next (`resume`): its layout, where
it is kept, and whether it still fits the ledger.

It is kept in the cache directory (`$XDG_CACHE_HOME/cache-gate`, else
`~/.cache/cache-gate`; never beside or inside the ledger), one file per ledger and
settings, replaced atomically. It fits the ledger only if the ledger is the same file,
grown, as log shippers tell it: the same device and inode, at least as long, and the
same SHA-256 of its first 4 KiB and of the 4 KiB before the checkpoint's end. It is
data, decoded by type, never code, and ends with the SHA-256 of the rest: a file
damaged anyhow (a flipped bit that still decodes would be wrong figures) is ignored.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec

from cache_gate import __version__

# Smaller ledgers are read whole: it costs less than a checkpoint.
CACHE_MIN_BYTES = 8 << 20
FINGERPRINT_BYTES = 4096
# A larger checkpoint is not kept (a ledger of very many workflows, prompts or
# sessions): reading it back would cost more memory than reading the ledger. A year of
# the seed's ledger, a million requests, takes about 2 MB.
MAX_CHECKPOINT_BYTES = 16 << 20
# The checkpoint's layout; a checkpoint of another is ignored.
LAYOUT = 3
DAMAGED = "the checkpoint was damaged"
TOO_VARIED = ("the ledger has too many workflows, prompts or sessions to keep a "
              "checkpoint of")

Count = Annotated[int, msgspec.Meta(ge=0)]


@dataclass(frozen=True)
class LedgerCache:
    """Where a ledger's checkpoint is kept, and what else its sink depends on (the
    settings it is priced and filtered by, as text): another `key` is another
    checkpoint."""

    key: str
    directory: Path | None = None
    min_bytes: int = CACHE_MIN_BYTES

    def entry(self, ledger: str) -> Path | None:
        """The checkpoint file of `ledger`, or None where there is no cache directory."""
        import hashlib  # only a ledger large enough to keep a checkpoint of needs it
        import json

        directory = self.directory or default_directory()
        if directory is None:
            return None
        name = json.dumps([LAYOUT, __version__, ledger, self.key])
        return directory / f"{hashlib.sha256(name.encode()).hexdigest()[:40]}.checkpoint"


def default_directory() -> Path | None:
    """`$XDG_CACHE_HOME/cache-gate`, else `~/.cache/cache-gate` (None: no home)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if base and Path(base).is_absolute():
        return Path(base) / "cache-gate"
    try:
        return Path.home() / ".cache" / "cache-gate"
    except RuntimeError:
        return None


class Stats(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    records: Count
    not_requests: Count
    bad_count: Count
    bad: list[tuple[Count, str, Count]]
    formats: dict[str, Count]
    other_workflows: Count


class Segment(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    start: Count
    end: Count
    lines: Count
    low: float | None
    high: float | None
    dated: Count
    undated: Count
    stats: Stats
    state: bytes


class Checkpoint(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    layout: int
    tool: str
    ledger: str
    key: str
    device: int
    inode: int
    offset: Count
    head: bytes
    before: bytes
    segments: list[Segment]


DECODER = msgspec.msgpack.Decoder(Checkpoint)
DIGEST_BYTES = 32


def encode(checkpoint: Checkpoint) -> bytes:
    """The checkpoint as a file holds it: msgpack, then its SHA-256."""
    import hashlib

    data = msgspec.msgpack.encode(checkpoint)
    return data + hashlib.sha256(data).digest()


def decode(data: bytes) -> Checkpoint:
    """The checkpoint a file holds; msgspec.DecodeError where it is not one, or its
    digest is not its content's."""
    import hashlib

    body, digest = data[:-DIGEST_BYTES], data[-DIGEST_BYTES:]
    if len(data) < DIGEST_BYTES or hashlib.sha256(body).digest() != digest:
        raise msgspec.DecodeError("the checkpoint's digest does not match its content")
    return DECODER.decode(body)


def load(entry: Path, ledger: str, key: str,
          info: os.stat_result) -> tuple[Checkpoint | None, str]:
    """The entry's checkpoint if it fits the ledger as it is now, else None; and why."""
    try:
        data = entry.read_bytes()
    except FileNotFoundError:
        return None, "first run with these settings"
    except OSError:
        return None, "the checkpoint could not be read"
    try:
        checkpoint = decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None, DAMAGED
    if (checkpoint.layout, checkpoint.tool, checkpoint.ledger, checkpoint.key) != (
            LAYOUT, __version__, ledger, key):
        return None, "the checkpoint was made for another ledger or settings"
    segments = checkpoint.segments  # none: the ledger was too varied to keep them
    if segments and (segments[0].start != 0 or segments[-1].end != checkpoint.offset
                     or any(a.end != b.start for a, b in itertools.pairwise(segments))
                     or any(segment.start > segment.end for segment in segments)):
        return None, DAMAGED
    if (checkpoint.device, checkpoint.inode) != (info.st_dev, info.st_ino):
        return None, "the ledger is another file than last time (rotated or replaced)"
    offset = checkpoint.offset
    if info.st_size < offset:
        return None, "the ledger is shorter than last time (truncated)"
    if (fingerprint(ledger, 0, min(FINGERPRINT_BYTES, offset)) != checkpoint.head
            or fingerprint(ledger, max(0, offset - FINGERPRINT_BYTES), offset)
            != checkpoint.before):
        return None, "the ledger's content changed since last time (rewritten)"
    return checkpoint, "the ledger only grew since last time"


def unchanged(path: str, info: os.stat_result, head: bytes, size: int) -> bool:
    """The ledger is still the file this run began to read, and only grew."""
    try:
        now = Path(path).stat()
        return ((now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)
                and now.st_size >= size
                and fingerprint(path, 0, min(FINGERPRINT_BYTES, size)) == head)
    except OSError:  # removed meanwhile: read, but nothing to keep
        return False


def fingerprint(path: str, start: int, end: int) -> bytes:
    import hashlib
    with Path(path).open("rb") as handle:
        handle.seek(start)
        return hashlib.sha256(handle.read(end - start)).digest()


def save(entry: Path, checkpoint: Checkpoint) -> bool:
    """Keep the checkpoint for the next run; False where the cache cannot be written
    (a read-only home, a full disk): the run goes on, uncached."""
    from cache_gate.atomic import replace_atomically

    try:
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        replace_atomically(entry, encode(checkpoint))
    except OSError:
        return False
    return True
