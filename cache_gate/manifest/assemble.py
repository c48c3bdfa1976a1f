"""Assemble prompts: read every block's content and build the stable prefix bytes.

A block's content is one or more parts (a file, each file a glob matched, or a text
block), concatenated as bytes; the stable prefix is the concatenation of the blocks
up to and including the last cache breakpoint. A part that cannot be read is a
CG100 problem and contributes no bytes.

The parts, blocks and prompts keep what they compute on themselves (`cached_property`,
which a msgspec struct cannot have without a `__dict__`, unsafe before msgspec 0.21
on Python 3.13): they are plain classes, since a dataclass costs a hook's start-up
some 0.3 ms to define.
"""

from __future__ import annotations

import bisect
import functools
import importlib
import os
import re
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, cast

from cache_gate.findings import Problem
from cache_gate.manifest.loader import Manifest
from cache_gate.manifest.positions import JsonPath, format_path
from cache_gate.manifest.repository import PathRefused
from cache_gate.manifest.spec import ROLE_RANK, BlockSpec, PromptSpec
from cache_gate.manifest.tokens import estimate_tokens

PartKind = Literal["file", "text", "render"]

_SUPPRESSION = re.compile(r"cache-gate:\s*ignore\[([A-Za-z0-9,\s]+)\]")
# Bytes below which a digest is CPython's own SHA-256 rather than OpenSSL's: hashlib
# loads OpenSSL first (some 2.5 ms of a hook's start-up), whose SHA-256 is faster on
# more (0.6 ms a megabyte against 3.3).
OWN_SHA256_BELOW = 1 << 20


def sha256_hex(data: bytes) -> str:
    """`hashlib.sha256(data).hexdigest()`, without loading OpenSSL for a small input."""
    sha256 = _own_sha256() if len(data) < OWN_SHA256_BELOW else None
    if sha256 is None:
        import hashlib

        sha256 = hashlib.sha256
    return str(sha256(data).hexdigest())


@functools.cache
def _own_sha256() -> Callable[[bytes], Any] | None:
    """CPython's own SHA-256 (`random` takes its SHA-512 so too), None where it was
    built without it."""
    for module in ("_sha2", "_sha256"):  # Python 3.12+, 3.11
        try:
            return cast("Callable[[bytes], Any]", importlib.import_module(module).sha256)
        except (ImportError, AttributeError):
            continue
    return None


class Part:
    """One piece of prompt text with a location: a file, a text block or render output."""

    def __init__(self, kind: PartKind, display: str, data: bytes, source: str = "",
                 pointer: JsonPath = (), anchor_line: int | None = None) -> None:
        self.kind = kind
        self.display = display  # the file reports name (for text/render: the manifest)
        self.data = data
        self.source = source  # repository-relative path of a file part
        # For text blocks and render output: where in the manifest they are declared.
        self.pointer = pointer
        self.anchor_line = anchor_line

    @cached_property
    def _decoded(self) -> tuple[str, str | None, int | None]:
        try:
            return self.data.decode("utf-8"), None, None
        except UnicodeDecodeError as exc:
            line = self.data.count(b"\n", 0, exc.start) + 1
            return "", f"is not UTF-8 (byte {exc.start:,}); save it as UTF-8", line

    @property
    def text(self) -> str:
        """The decoded text; empty when the bytes are not UTF-8 (see decode_error)."""
        return self._decoded[0]

    @property
    def decode_error(self) -> str | None:
        return self._decoded[1]

    @property
    def decode_error_line(self) -> int | None:
        return self._decoded[2]

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0, *(match.end() for match in re.finditer("\n", self.text))]

    def line_at(self, offset: int) -> int:
        """The 1-based line, within this part's text, of a character offset."""
        return bisect.bisect_right(self._line_starts, offset)

    def line_text(self, line: int) -> str:
        starts = self._line_starts
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[start:end]

    @cached_property
    def suppressions(self) -> dict[int, frozenset[str]]:
        """`cache-gate: ignore[CG101,CG104]` comments: line -> rule IDs ignored there."""
        if "cache-gate:" not in self.text:
            return {}
        found: dict[int, frozenset[str]] = {}
        for match in _SUPPRESSION.finditer(self.text):
            rules = frozenset(rule.strip().upper() for rule in match.group(1).split(",")
                              if rule.strip())
            line = self.line_at(match.start())
            found[line] = found.get(line, frozenset()) | rules
        return found

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @cached_property
    def tokens(self) -> int:
        """Estimated tokens (a file shared by many prompts is estimated once)."""
        return estimate_tokens(self.data)


class AssembledBlock:
    def __init__(self, spec: BlockSpec, index: int) -> None:
        self.spec = spec
        self.index = index
        self.parts: list[Part] = []

    @cached_property
    def data(self) -> bytes:
        return b"".join(part.data for part in self.parts)

    @cached_property
    def sha256(self) -> str:
        return sha256_hex(self.data)

    @cached_property
    def tokens(self) -> int:
        return sum(part.tokens for part in self.parts)


class AssembledPrompt:
    def __init__(self, spec: PromptSpec, blocks: list[AssembledBlock]) -> None:
        self.spec = spec
        self.blocks = blocks
        self.problems: list[Problem] = []  # CG100

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def stable_blocks(self) -> list[AssembledBlock]:
        return self.blocks[: self.spec.stable_count]

    @cached_property
    def stable_prefix(self) -> bytes:
        return b"".join(block.data for block in self.stable_blocks)

    @cached_property
    def sha256(self) -> str:
        return sha256_hex(self.stable_prefix)

    @cached_property
    def tokens(self) -> int:
        return sum(block.tokens for block in self.stable_blocks)


def display_path(path: Path) -> str:
    """How reports name a repository file: relative to the working directory if below it."""
    relative = os.path.relpath(path)
    return Path(relative).as_posix() if not relative.startswith("..") else path.as_posix()


class Assembler:
    """Reads blocks of one manifest; files shared by prompts are read once."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.repository = manifest.repository
        self._parts: dict[str, Part] = {}

    def assemble(self, prompt: PromptSpec) -> AssembledPrompt:
        assembled = AssembledPrompt(prompt, [])
        for index, spec in enumerate(prompt.blocks):
            block = AssembledBlock(spec, index)
            assembled.blocks.append(block)
            if spec.file is not None:
                pointer = spec.path if _is_plain_string(spec) else (*spec.path, "file")
                self._add_file(block, spec.file, pointer, assembled)
            elif spec.glob is not None:
                self._add_glob(block, spec.glob, assembled)
            else:
                block.parts.append(self._text_part(spec))
        assembled.problems.extend(self._render_order(prompt))
        return assembled

    def _file_part(self, name: str) -> Part:
        repo_file = self.repository.read(name)
        part = self._parts.get(repo_file.relative)
        if part is None:
            display = display_path(self.repository.root / repo_file.relative)
            part = Part("file", display, repo_file.data, source=repo_file.relative)
            self._parts[repo_file.relative] = part
        return part

    def _add_file(self, block: AssembledBlock, name: str, pointer: JsonPath,
                  prompt: AssembledPrompt) -> None:
        try:
            part = self._file_part(name)
        except PathRefused as refused:
            hint = None
            if _is_plain_string(block.spec) and not Path(name).suffix:
                hint = ('a plain-string "stable_prefix" is read as a file path (older '
                        'manifests); for inline text use [{"text": "..."}]')
            prompt.problems.append(self.manifest.problem(
                pointer, f"{name!r} {refused}", hint=hint))
            return
        block.parts.append(part)
        if part.decode_error:
            prompt.problems.append(Problem(f"{name} {part.decode_error}",
                                           line=part.decode_error_line, path=part.display,
                                           key=f"{name}: not UTF-8"))

    def _add_glob(self, block: AssembledBlock, pattern: str, prompt: AssembledPrompt) -> None:
        pointer = (*block.spec.path, "glob")
        try:
            matches = self.repository.glob(pattern)
        except PathRefused as refused:
            prompt.problems.append(self.manifest.problem(pointer, f"{pattern!r} {refused}"))
            return
        for name in matches.refused:
            prompt.problems.append(self.manifest.problem(
                pointer, f"{pattern!r} matches {name!r}, a symbolic link that leads outside "
                "the repository; it is not read"))
        if not matches.files and not matches.refused:
            prompt.problems.append(self.manifest.problem(
                pointer, f"{pattern!r} matches no file; the block would be empty"))
        for name in matches.files:
            self._add_file(block, name, pointer, prompt)

    def _text_part(self, spec: BlockSpec) -> Part:
        pointer = (*spec.path, "text")
        text = spec.text or ""
        return Part("text", self.manifest.display, text.encode("utf-8", "surrogatepass"),
                    pointer=pointer, anchor_line=self.manifest.line_of(pointer))

    def _render_order(self, prompt: PromptSpec) -> list[Problem]:
        highest: BlockSpec | None = None
        for spec in prompt.blocks:
            if spec.role is None:
                continue
            if highest is not None and ROLE_RANK[spec.role] < ROLE_RANK[highest.role or ""]:
                return [self.manifest.problem(
                    (*spec.path, "role"), f"a {spec.role!r} block after a {highest.role!r} "
                    f"block ({format_path(highest.path)}); blocks are listed in the "
                    "provider's render order: tools, then system, then messages")]
            if highest is None or ROLE_RANK[spec.role] > ROLE_RANK[highest.role or ""]:
                highest = spec
        return []


def _is_plain_string(spec: BlockSpec) -> bool:
    """A block from an older manifest's plain-string stable_prefix / dynamic_suffix."""
    return bool(spec.path) and spec.path[-1] in ("stable_prefix", "dynamic_suffix")
