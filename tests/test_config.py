"""Settings: [tool.cache-gate] or .cache-gate.toml, strict, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache_gate.config import DEFAULT_TARGETS, load_settings
from cache_gate.errors import InputError


def test_defaults_without_a_settings_file(tmp_path: Path) -> None:
    settings = load_settings(start=tmp_path)
    assert settings.targets == DEFAULT_TARGETS
    assert settings.ledger == ".backlog-ops/usage-ledger.jsonl"
    assert settings.source == "defaults"


def test_pyproject_table_with_dashed_keys(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.cache-gate]\nmin-requests = 5\n'
        'required = ["semantic-cache-useful-hit-rate"]\n'
        '[tool.cache-gate.targets]\ncached-token-ratio = 0.5\n'
        '[tool.cache-gate.workflow-targets.implementer]\nprompt_cache_hit_rate = 0.3\n')
    settings = load_settings(start=tmp_path)
    assert settings.min_requests == 5
    assert settings.required == ["semantic_cache_useful_hit_rate"]
    assert settings.targets["cached_token_ratio"] == 0.5
    assert settings.targets["prompt_cache_hit_rate"] == 0.6  # the rest keep their defaults
    assert settings.workflow_targets == {"implementer": {"prompt_cache_hit_rate": 0.3}}


def test_dedicated_file_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.cache-gate]\nmin-requests = 5\n")
    (tmp_path / ".cache-gate.toml").write_text("min-requests = 7\n")
    assert load_settings(start=tmp_path).min_requests == 7


def test_pyproject_without_our_table_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(start=tmp_path).source == "defaults"


@pytest.mark.parametrize(("text", "message"), [
    ("min-requests = -1", "'min-requests' must be a whole number >= 0"),
    ("strict = 'yes'", "'strict' must be true or false"),
    ("[targets]\nprompt_cache_hit_rate = 1.5", "'targets' must be a table of KPI name"),
    ("[targets]\nhit_rate = 0.5", "unknown KPI 'hit_rate'"),
    ("ledgr = 'x'", "unknown setting 'ledgr'"),
    ("min-requests = ", "invalid TOML"),
])
def test_invalid_settings(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / ".cache-gate.toml").write_text(text + "\n")
    with pytest.raises(InputError, match=message) as caught:
        load_settings(start=tmp_path)
    assert ".cache-gate.toml" in str(caught.value)


def test_explicit_settings_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_settings(str(tmp_path / "missing.toml"))
