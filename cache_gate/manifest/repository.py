"""The repository the manifest describes: every path resolves inside it, or is refused.

A path that is absolute, or that leaves the repository through `..` or a symbolic
link, is an error, and nothing outside the repository is read, listed or printed
(messages name the path as the manifest spells it, never where it leads). Prompt
files are read whole, up to a size bound: a prompt larger than any context window
is a mistake, not something to load into memory.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from pathlib import Path, PurePosixPath

import msgspec

from cache_gate.inputs import note_input

MAX_PROMPT_FILE_BYTES = 8 * 1024 * 1024
MAX_GLOB_MATCHES = 1000


class PathRefused(Exception):
    """A manifest path that cannot be used; the message says why and how to fix it."""


class RepoFile(msgspec.Struct, frozen=True):
    relative: str  # posix path relative to the repository root, as the manifest names it
    real: Path  # resolved, inside the repository
    data: bytes


class GlobMatches(msgspec.Struct):
    files: list[str] = msgspec.field(default_factory=list)  # relative posix paths, sorted
    refused: list[str] = msgspec.field(default_factory=list)  # links that lead outside


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


class Repository:
    """Reads files by repository-relative path; caches what it read."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._files: dict[str, RepoFile | PathRefused] = {}

    def inside(self, real: Path) -> bool:
        return real == self.root or real.is_relative_to(self.root)

    def resolve(self, text: str) -> tuple[str, Path]:
        """(normalised relative path, real path inside the repository)."""
        if not text.strip():
            raise PathRefused("is an empty path")
        if "\0" in text:
            raise PathRefused("contains a NUL character, which no file name can hold")
        if Path(text).is_absolute() or text.startswith("~") or re.match(r"[A-Za-z]:[\\/]",
                                                                         text):
            raise PathRefused("is an absolute path; use a path relative to the repository "
                              "root")
        relative = PurePosixPath(os.path.normpath(text)).as_posix()
        real = Path(os.path.realpath(self.root / relative))
        if relative.startswith("../") or relative == ".." or not self.inside(real):
            raise PathRefused("leads outside the repository (through '..' or a symbolic "
                              "link); nothing outside the repository is read")
        return relative, real

    def read(self, text: str) -> RepoFile:
        """The file's bytes; PathRefused with a one-line reason otherwise."""
        cached = self._files.get(text)
        if cached is None:
            try:
                cached = self._read(text)
            except PathRefused as refused:
                cached = refused
            self._files[text] = cached
        if isinstance(cached, PathRefused):
            raise cached
        return cached

    def forget_reads(self) -> None:
        """Drop every cached read (after `--fix` rewrote files)."""
        self._files.clear()

    def _read(self, text: str) -> RepoFile:
        relative, real = self.resolve(text)
        try:
            info = real.stat()
        except FileNotFoundError:
            raise PathRefused("does not exist") from None
        except OSError as exc:
            raise PathRefused(f"cannot be read: {exc.strerror}") from None
        if stat.S_ISDIR(info.st_mode):
            raise PathRefused("is a directory; to include the files in it use "
                              '"glob": "DIR/*.md" with "order": "lexical"')
        if not stat.S_ISREG(info.st_mode):
            raise PathRefused("is not a regular file")
        if info.st_size > MAX_PROMPT_FILE_BYTES:
            raise PathRefused(f"is {_mib(info.st_size)}, over the "
                              f"{_mib(MAX_PROMPT_FILE_BYTES)} bound for a prompt file "
                              "(larger than any model's context window)")
        try:
            with real.open("rb") as handle:
                note_input(real, info)
                data = handle.read(MAX_PROMPT_FILE_BYTES + 1)
        except OSError as exc:
            raise PathRefused(f"cannot be read: {exc.strerror}") from None
        if len(data) > MAX_PROMPT_FILE_BYTES:
            raise PathRefused(f"grew over the {_mib(MAX_PROMPT_FILE_BYTES)} bound for a "
                              "prompt file while being read")
        return RepoFile(relative, real, data)

    def glob(self, pattern: str) -> GlobMatches:
        """Files matching `pattern` (`*`, `?`, `[...]`, `**`), sorted by relative path.

        Like the shell, wildcards do not match names starting with a dot unless the
        pattern does. Symbolic links that lead outside the repository are refused,
        not followed.
        """
        if Path(pattern).is_absolute() or pattern.startswith("~"):
            raise PathRefused("is an absolute pattern; use a pattern relative to the "
                              "repository root")
        parts = [part for part in pattern.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise PathRefused("contains '..'; a glob matches inside the repository only")
        if not parts:
            raise PathRefused("is an empty pattern")
        matches = GlobMatches()
        found: set[str] = set()
        self._walk(self.root, "", parts, found, matches)
        matches.files = sorted(found)
        return matches

    def _walk(self, directory: Path, relative: str, parts: list[str], found: set[str],
              matches: GlobMatches) -> None:
        if len(found) > MAX_GLOB_MATCHES:
            raise PathRefused(f"matches more than {MAX_GLOB_MATCHES} files")
        part, rest = parts[0], parts[1:]
        if part == "**":
            if rest:
                self._walk(directory, relative, rest, found, matches)
            for name, real, is_dir, is_link in self._entries(directory, relative, "*",
                                                             matches):
                if is_dir and not is_link:  # like the shell's **: links could loop
                    self._walk(real, f"{relative}{name}/", parts, found, matches)
                elif not rest:
                    found.add(f"{relative}{name}")
            return
        for name, real, is_dir, _ in self._entries(directory, relative, part, matches):
            if rest and is_dir:
                self._walk(real, f"{relative}{name}/", rest, found, matches)
            elif not rest and not is_dir:
                found.add(f"{relative}{name}")

    def _entries(self, directory: Path, relative: str, part: str,
                 matches: GlobMatches) -> list[tuple[str, Path, bool, bool]]:
        matcher = re.compile(fnmatch.translate(part))
        entries = []
        try:
            listing = list(os.scandir(directory))
        except OSError:
            return []
        for entry in listing:
            name = entry.name
            if name.startswith(".") and not part.startswith("."):
                continue
            if not matcher.match(name):
                continue
            real = Path(entry.path)
            is_link = entry.is_symlink()
            if is_link:
                real = Path(os.path.realpath(entry.path))
                if not self.inside(real):
                    matches.refused.append(f"{relative}{name}")
                    continue
            try:
                is_dir = real.is_dir()
                is_file = real.is_file()
            except OSError:
                continue
            if is_dir or is_file:
                entries.append((name, real, is_dir, is_link))
        return entries
