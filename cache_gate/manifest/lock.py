"""The prompt lock: what every stable prefix was when it was last approved.

`.backlog-ops/prompt-manifest.lock.json` records, per prompt, the sha256, byte length
and estimated tokens of the stable prefix and of each of its blocks and files, plus
a short hash of every line (so that a drift can be located without the old text).
It holds no timestamps: writing it twice from the same prompts gives the same bytes.
"""

from __future__ import annotations

import base64
import json
import stat
import zlib
from pathlib import Path
from typing import Any

import msgspec

from cache_gate.atomic import replace_atomically
from cache_gate.inputs import note_input
from cache_gate.manifest.assemble import AssembledBlock, AssembledPrompt, Part, sha256_hex
from cache_gate.manifest.tokens import ESTIMATOR

LOCK_VERSION = 1
MAX_LOCK_BYTES = 64 * 1024 * 1024


class LockUnreadable(Exception):
    """The lock exists but cannot be used; the message says why."""


def line_hashes(data: bytes) -> str:
    """24 bits of CRC-32 per line (line ending included), base64: 4 characters a line."""
    lines = data.split(b"\n")
    packed = b"".join((zlib.crc32(line) & 0xFFFFFF).to_bytes(3, "big") for line in lines)
    return base64.b64encode(packed).decode("ascii")


def _decode_line_hashes(text: str) -> list[bytes]:
    packed = base64.b64decode(text.encode("ascii"), validate=True)
    return [packed[i:i + 3] for i in range(0, len(packed), 3)]


def _part_source(part: Part) -> str:
    return part.source if part.is_file else "text"


def _part_entry(part: Part) -> dict[str, Any]:
    return {
        "source": _part_source(part),
        "sha256": sha256_hex(part.data),
        "bytes": len(part.data),
        "lines": line_hashes(part.data),
    }


def _block_entry(block: AssembledBlock) -> dict[str, Any]:
    return {
        "source": block.spec.label,
        "cache_control": block.spec.cache_control,
        "sha256": block.sha256,
        "bytes": len(block.data),
        "tokens": block.tokens,
        "parts": [_part_entry(part) for part in block.parts],
    }


def prompt_entry(prompt: AssembledPrompt) -> dict[str, Any]:
    return {
        "model": prompt.spec.model,
        "sha256": prompt.sha256,
        "bytes": len(prompt.stable_prefix),
        "tokens": prompt.tokens,
        "blocks": [_block_entry(block) for block in prompt.stable_blocks],
    }


def lock_document(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "lock_version": LOCK_VERSION,
        "generated_by": "cache-gate lint --update-lock",
        "token_estimator": ESTIMATOR,
        "prompts": dict(sorted(entries.items())),
    }


def write_lock(path: Path, document: dict[str, Any]) -> None:
    """Write atomically: a temporary file in the same directory, then os.replace."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(path, text.encode("utf-8"))


def read_lock(path: Path) -> dict[str, Any] | None:
    """The lock document, None when there is no lock yet; LockUnreadable otherwise."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LockUnreadable(f"cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(status.st_mode):
        raise LockUnreadable("is a directory")
    if not stat.S_ISREG(status.st_mode):
        # A FIFO would block the read for ever; a device could be endless.
        raise LockUnreadable("is not a regular file")
    size = status.st_size
    if size > MAX_LOCK_BYTES:
        raise LockUnreadable(f"is {size:,} bytes, over the {MAX_LOCK_BYTES:,}-byte bound")
    try:
        text = path.read_text(encoding="utf-8")
        note_input(path, status)
    except (OSError, UnicodeDecodeError) as exc:
        raise LockUnreadable(f"cannot be read: {exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        conflict = " (a merge conflict?)" if "<<<<<<<" in text else ""
        raise LockUnreadable(f"is not valid JSON at line {exc.lineno}{conflict}") from None
    except RecursionError:
        raise LockUnreadable("is nested too deeply to be a lock") from None
    except ValueError:  # an integer of more than 4,300 digits
        raise LockUnreadable("holds a number too long to read") from None
    if not isinstance(document, dict) or not isinstance(document.get("prompts"), dict):
        raise LockUnreadable("is not a cache-gate prompt lock (no \"prompts\" object)")
    for prompt_id, entry in document["prompts"].items():
        if not isinstance(entry, dict):
            raise LockUnreadable(f"has an entry for prompt {prompt_id[:40]!r} that is not an "
                                 "object")
    version = document.get("lock_version")
    if version != LOCK_VERSION:
        raise LockUnreadable(f"has lock_version {version!r}; this cache-gate reads "
                             f"version {LOCK_VERSION}")
    return document


class Drift(msgspec.Struct, frozen=True):
    """Where a stable prefix first differs from its lock entry, and what it costs."""

    block_index: int
    part: Part | None  # the first differing part (None: the block list itself changed)
    line: int | None  # line within that part
    reason: str
    rewritten_tokens: int  # cached tokens every caller writes again


def _first_line_difference(part: Part, entry: dict[str, Any]) -> int:
    try:
        old = _decode_line_hashes(str(entry.get("lines", "")))
    except ValueError:
        return 1
    new = _decode_line_hashes(line_hashes(part.data))
    for index, (before, after) in enumerate(zip(old, new, strict=False)):
        if before != after:
            return index + 1
    return min(len(old), len(new))  # one is a prefix of the other: the last shared line


def _rewritten(prompt: AssembledPrompt, block_index: int) -> int:
    """Tokens after the last breakpoint before `block_index`: the cache entries that
    the change invalidates and every caller writes again."""
    stable = prompt.stable_blocks
    earlier = [i for i in prompt.spec.breakpoints if i < block_index]
    start = earlier[-1] + 1 if earlier else 0
    return sum(block.tokens for block in stable[start:])


def find_drift(prompt: AssembledPrompt, entry: dict[str, Any]) -> Drift | None:
    """None when the stable prefix matches its lock entry."""
    if entry.get("sha256") == prompt.sha256:
        return None
    old_blocks = entry.get("blocks")
    old_blocks = old_blocks if isinstance(old_blocks, list) else []
    stable = prompt.stable_blocks
    for index, block in enumerate(stable):
        if index >= len(old_blocks):
            return Drift(index, None, None, f"block {index + 1} ({block.spec.label}) is new "
                         "in the stable prefix", _rewritten(prompt, index))
        old = old_blocks[index] if isinstance(old_blocks[index], dict) else {}
        if old.get("sha256") == block.sha256:
            continue
        drift = _drift_in_block(prompt, index, block, old)
        if drift is not None:
            return drift
    if len(old_blocks) > len(stable):
        index = len(stable)
        return Drift(index, None, None, f"the stable prefix lost {len(old_blocks) - index} "
                     "block(s) at its end", _rewritten(prompt, index))
    return Drift(0, None, None, "the stable prefix differs", _rewritten(prompt, 0))


def _drift_in_block(prompt: AssembledPrompt, index: int, block: AssembledBlock,
                    old: dict[str, Any]) -> Drift:
    rewritten = _rewritten(prompt, index)
    old_parts = old.get("parts")
    old_parts = [p for p in old_parts if isinstance(p, dict)] if isinstance(
        old_parts, list) else []
    for position, part in enumerate(block.parts):
        if position >= len(old_parts):
            return Drift(index, part, None, f"{_part_source(part)} is new in "
                         f"{block.spec.label}", rewritten)
        previous = old_parts[position]
        if previous.get("source") != _part_source(part):
            return Drift(index, part, None, f"{block.spec.label} now has "
                         f"{_part_source(part)} where the lock has {previous.get('source')}",
                         rewritten)
        if previous.get("sha256") != sha256_hex(part.data):
            line = _first_line_difference(part, previous)
            return Drift(index, part, line, "changed", rewritten)
    if len(old_parts) > len(block.parts):
        missing = old_parts[len(block.parts)].get("source")
        return Drift(index, None, None, f"{block.spec.label} no longer includes {missing}",
                     rewritten)
    return Drift(index, None, None, f"{block.spec.label} changed (breakpoint or settings)",
                 rewritten)
