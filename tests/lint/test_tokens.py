"""Token estimates: honest about being estimates, close enough to decide with a margin."""

from __future__ import annotations

import pytest

from cache_gate.manifest.tokens import MARGIN, approx, estimate_tokens
from tests import consumers

TEMPLATES = "realworld/backlog-agents/skills/backlog-implementer/templates"

# Counts by Anthropic's published tokenizer (@anthropic-ai/tokenizer, the legacy Claude
# vocabulary), measured once when the estimator's weights were fitted.
LEGACY_COUNTS = {"implementer-prefix.md": 936, "reviewer-prefix.md": 669,
                 "fast-path-agent.md": 462}


def test_empty_and_small() -> None:
    assert estimate_tokens(b"") == 0
    assert estimate_tokens(b"a") == 1
    assert 8 <= estimate_tokens(b"The quick brown fox jumps over the lazy dog.") <= 12


def test_grows_with_the_text() -> None:
    text = b"Report every finding with the file, the line and a fix.\n"
    one = estimate_tokens(text)
    assert estimate_tokens(text * 10) == pytest.approx(10 * one, rel=0.05)


def test_non_ascii_text_counts() -> None:
    cjk = "これは日本語のテキストです。".encode()
    assert estimate_tokens(cjk) >= 10
    rule = ("═" * 70 + "\n").encode()
    assert estimate_tokens(rule) < 20  # repeated box drawing merges well


@pytest.mark.parametrize(("name", "legacy"), sorted(LEGACY_COUNTS.items()))
def test_within_ten_percent_of_a_real_tokenizer(name: str, legacy: int) -> None:
    path = consumers.shared_path(f"{TEMPLATES}/{name}")
    assert estimate_tokens(path.read_bytes()) == pytest.approx(legacy, rel=0.10)
    assert MARGIN >= 0.10  # the margin decisions leave covers that error


def test_approx_says_it_is_an_estimate() -> None:
    assert approx(812) == "≈812"
    assert approx(12_345) == "≈12,340"
