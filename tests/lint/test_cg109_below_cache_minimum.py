"""CG109 below-cache-minimum: stable prefixes the provider will never cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache_gate.manifest.tokens import estimate_tokens
from tests.lint.repo import CLEAN_LINE, CLEAN_PROSE, lint, lint_json, one_file_prompt, write_repo

SHORT = "Answer briefly.\n" * 20  # about 80 tokens


def _cg109(root: Path) -> list[dict[str, object]]:
    _, report = lint_json(root)
    return [f for f in report["findings"] if f["rule"] == "CG109"]


@pytest.mark.parametrize(("model", "minimum"), [
    ("claude-haiku-4-5", "4,096"),
    ("anthropic/claude-opus-4-5", "4,096"),
    ("claude-3-5-haiku-20241022", "2,048"),
    ("claude-opus-4-7", "2,048"),
    ("claude-opus-5", "512"),
])
def test_short_prefix_is_an_error_naming_model_and_minimum(tmp_path: Path, model: str,
                                                             minimum: str) -> None:
    write_repo(tmp_path, {"prompts/system.md": SHORT}, [one_file_prompt()],
               defaults={"model": model})
    [finding] = _cg109(tmp_path)
    assert finding["severity"] == "error"
    message = str(finding["message"])
    assert f"below {model}'s minimum of {minimum} cacheable tokens" in message
    assert "≈" in message and "25% margin" in message


# The platform's own figure, else the Anthropic one; the message names the platform.
@pytest.mark.parametrize(("model", "expected"), [
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0",
     "1,024 cacheable tokens for claude-sonnet-4-5 on Bedrock"),
    ("bedrock/anthropic.claude-opus-4-7", "4,096 cacheable tokens for claude-opus-4-7 on Bedrock"),
    ("global.anthropic.claude-mythos-preview",
     "4,096 cacheable tokens for claude-mythos-preview on Bedrock"),
    ("vertex_ai/claude-opus-4-7", "2,048 cacheable tokens for claude-opus-4-7 on Vertex AI"),
    ("claude-haiku-4-5@20251001", "4,096 cacheable tokens for claude-haiku-4-5 on Vertex AI"),
])
def test_the_platform_of_the_model_id_picks_the_minimum(tmp_path: Path, model: str,
                                                        expected: str) -> None:
    write_repo(tmp_path, {"prompts/system.md": SHORT}, [one_file_prompt()],
               defaults={"model": model})
    [finding] = _cg109(tmp_path)
    assert f"is below the minimum of {expected} ({model}):" in str(finding["message"])


def test_bedrock_minimum_above_the_anthropic_one(tmp_path: Path) -> None:
    # ≈2,000 tokens: over Opus 4.7's 2,048 with the margin, under Bedrock's 4,096 even with it.
    text = CLEAN_LINE * 76
    assert 2048 / 1.25 < estimate_tokens(text.encode()) < 4096 / 1.25
    for model, findings in (("claude-opus-4-7", 0), ("us.anthropic.claude-opus-4-7", 1)):
        write_repo(tmp_path, {"prompts/system.md": text}, [one_file_prompt()],
                   defaults={"model": model})
        assert len(_cg109(tmp_path)) == findings, model


def test_prefix_over_the_minimum_passes(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE}, [one_file_prompt()])
    assert _cg109(tmp_path) == []


def test_near_the_minimum_is_a_note_not_an_error(tmp_path: Path) -> None:
    # About 900 estimated tokens: below 1,024, but within the 25% margin.
    text = CLEAN_LINE * 34
    assert 1024 / 1.25 < estimate_tokens(text.encode()) < 1024
    write_repo(tmp_path, {"prompts/system.md": text}, [one_file_prompt()])
    code, out, _ = lint(tmp_path)
    assert code == 0
    assert "CG109" not in out.split("\n\n")[0]
    assert "close to claude-sonnet-4-5's minimum of 1,024" in out


def test_settings_override_the_shipped_minimum(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": CLEAN_PROSE}, [one_file_prompt()],
               defaults={"model": "litellm-balanced"})
    assert _cg109(tmp_path) == []  # unknown model: a note, no finding
    _, out, _ = lint(tmp_path)
    assert "model 'litellm-balanced' (prompt main) has no known minimum" in out
    (tmp_path / ".cache-gate.toml").write_text('[model-minimums]\n"litellm-balanced" = 4096\n')
    [finding] = _cg109(tmp_path)
    assert "minimum of 4,096" in str(finding["message"])


def test_no_model_is_a_note(tmp_path: Path) -> None:
    write_repo(tmp_path, {"prompts/system.md": SHORT}, [one_file_prompt()], defaults={})
    code, out, _ = lint(tmp_path)
    assert code == 0
    assert "no model for prompt main" in out
