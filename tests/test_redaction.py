"""Credentials are masked by their shape, whether or not the text parses as a URL."""

from __future__ import annotations

import pytest

from cache_gate.redaction import mask_credentials, secrets_in


@pytest.mark.parametrize(("text", "masked"), [
    ("postgresql://cg:pw@db:5432/litellm", "postgresql://cg:***@db:5432/litellm"),
    ("postgresql://cg:pw@[::1/litellm", "postgresql://cg:***@[::1/litellm"),
    ("postgresq://cg:S3cret@db/litellm", "postgresq://cg:***@db/litellm"),
    (":S3cretPass!@127.0.0.1:6379/0", ":***@127.0.0.1:6379/0"),
    ("redis:/:pw@127.0.0.1", "redis:/:***@127.0.0.1"),
    ("pw@host:6379", "***@host:6379"),
    ("redis://TOKEN@host", "redis://***@host"),
    ("ledger 'rediss://u:p%40ss@h' not found", "ledger 'rediss://u:***@h' not found"),
    ("host=db password=hunter2 user=cg", "host=db password=*** user=cg"),
    ("postgresql://db/x?sslmode=require&password=hunter2", "postgresql://db/x?sslmode=require&password=***"),
    ("api_key=sk-123 and token=abc", "api_key=*** and token=***"),
])
def test_credentials_are_masked(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked


@pytest.mark.parametrize("text", [
    "/tmp/alice@example.com/ledger.jsonl",
    ".backlog-ops/usage-ledger.jsonl",
    "prompts/system.md:40: CG101",
    "user@ @host",
])
def test_paths_and_plain_text_are_left_alone(text: str) -> None:
    assert mask_credentials(text) == text


def test_the_secrets_found_are_those_masked() -> None:
    assert secrets_in("redis://:pw1@h and postgresql://u:pw2@[::1/x?password=pw3") == [
        "pw1", "pw2", "pw3"]
