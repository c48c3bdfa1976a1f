"""Paths as CI consumers want them: relative to the repository, with forward slashes."""

from __future__ import annotations

from pathlib import Path


def repository_path(path: str | None, root: Path | None = None) -> str | None:
    """`path` relative to `root` (default: the working directory) when inside it."""
    if path is None:
        return None
    candidate = Path(path)
    if candidate.is_absolute():
        base = (root or Path.cwd()).resolve()
        try:
            candidate = candidate.resolve().relative_to(base)
        except ValueError:
            return candidate.as_posix()
    return candidate.as_posix().removeprefix("./")
