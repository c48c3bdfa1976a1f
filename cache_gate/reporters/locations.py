"""Paths as CI consumers want them: relative to the repository, with forward slashes.

A finding's path is relative to the working directory (or absolute). CI consumers
resolve a path against the checkout instead: GitHub's annotations and code scanning
against `$GITHUB_WORKSPACE`, GitLab's Code Quality against `$CI_PROJECT_DIR`. When
cache-gate runs in a subdirectory (the action's `working-directory`, a monorepo
package), a path relative to the working directory points nowhere; so the root is
the checkout where CI names one.
"""

from __future__ import annotations

import os
from pathlib import Path

# Where each CI names its checkout, first match wins.
_CHECKOUT_VARIABLES = ("GITHUB_WORKSPACE", "CI_PROJECT_DIR")


def repository_root() -> Path:
    """The checkout CI names ($GITHUB_WORKSPACE, $CI_PROJECT_DIR), else the working
    directory."""
    for variable in _CHECKOUT_VARIABLES:
        value = os.environ.get(variable)
        if value:
            return Path(value)
    return Path.cwd()


def _lexical(path: str | Path) -> Path:
    return Path(os.path.normpath(Path.cwd() / path))


def _inside(path: str, root: Path) -> str | None:
    """`path` (relative to the working directory, or absolute) relative to `root`, or
    None when it is outside."""
    # As named first (`..` taken lexically), so a link inside the repository stays
    # where it is.
    try:
        return _lexical(path).relative_to(_lexical(root)).as_posix()
    except ValueError:
        pass
    # Then with links resolved, for a root named through one (`/tmp` on macOS, a
    # mount). A path the file system cannot take (a NUL, a link loop) is simply not
    # inside.
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except (OSError, ValueError, RuntimeError):
        return None


def repository_path(path: str | None, root: Path | None = None) -> str | None:
    """`path` relative to `root` (default: `repository_root()`) when inside it.
    A path outside the root is shown as before: relative to the working directory
    when inside it, else as given."""
    if path is None:
        return None
    for base in (root if root is not None else repository_root(), Path.cwd()):
        inside = _inside(path, base)
        if inside is not None:
            return inside
    return Path(path).as_posix()
