"""Run `cache-gate doctor` as a user would, in a clean environment."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from cache_gate.cli import cli

# Variables doctor reads: unset unless a test sets them.
CLEAN_ENV: dict[str, str | None] = dict.fromkeys((
    "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_USERNAME", "REDIS_SSL",
    "REDIS_DB", "LITELLM_MASTER_KEY", "GITHUB_ACTIONS", "NO_COLOR"))


def doctor(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["doctor", *args], env={**CLEAN_ENV, **(env or {})},
                                catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def doctor_json(*args: str, env: dict[str, str | None] | None = None
                ) -> tuple[int, dict[str, Any]]:
    code, out, err = doctor(*args, "--format", "json", env=env)
    assert err == "", err
    return code, json.loads(out)


def findings_of(document: dict[str, Any], rule: str | None = None) -> list[dict[str, Any]]:
    return [f for f in document["findings"] if rule is None or f["rule"] == rule]
