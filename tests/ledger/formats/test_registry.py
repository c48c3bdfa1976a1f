"""The format registry (one module per format, its docstring the documentation) and
the detection order that picks a line's format."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cache_gate.ledger import formats
from tests.ledger.formats.reading import verdicts
from tests.ledgers import (
    anthropic,
    backlog,
    bedrock_converse,
    bedrock_log,
    claude_code,
    deepseek,
    gemini,
    gemini_sdk,
    litellm,
    openai_chat,
    openai_responses,
    usage_report,
)

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_registry_lists_every_format_module_under_its_own_name() -> None:
    assert tuple(formats.REGISTRY) == formats.FORMATS
    assert formats.FORMATS[:3] == ("claude-code", "litellm", "backlog")
    for name, module in formats.REGISTRY.items():
        assert name == module.NAME
        assert formats.get(name) is module


@pytest.mark.parametrize("name", list(formats.REGISTRY))
def test_each_formats_docstring_documents_it_and_cites_its_source(name: str) -> None:
    doc = formats.REGISTRY[name].__doc__ or ""
    assert doc.startswith(f"`{name}`: ")
    assert re.search(r"Sources?:", doc)
    assert "https://" in doc or name == "backlog"  # the seed's own: DESIGN.md is its page


@pytest.mark.parametrize("name", list(formats.REGISTRY))
def test_each_format_is_one_module_of_one_shape(name: str) -> None:
    """A format is a module with NAME, `claims(line)` and `read(line)`: adding one is
    that module and its name in the registry."""
    import inspect

    module = formats.REGISTRY[name]
    assert list(inspect.signature(module.claims).parameters) == ["line"]
    assert list(inspect.signature(module.read).parameters) == ["line"]
    assert module.__name__ == f"cache_gate.ledger.formats.{module.__name__.rsplit('.', 1)[1]}"


def test_an_unknown_format_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no ledger format 'csv'"):
        formats.get("csv")


def test_the_readme_table_lists_every_format() -> None:
    section = README.read_text(encoding="utf-8").split("### Ledger formats", 1)[1]
    table = next(block for block in section.split("\n\n") if block.startswith("| format"))
    listed = re.findall(r"^\| `([a-z-]+)`", table, flags=re.MULTILINE)
    assert sorted(listed) == sorted(formats.FORMATS)


@pytest.mark.parametrize(("line", "fmt"), [
    (backlog(), "backlog"),
    (anthropic(), "anthropic"),
    (openai_chat(), "openai"),
    (openai_responses(), "openai"),
    (litellm(), "litellm"),
    (claude_code(), "claude-code"),
    (bedrock_converse(), "bedrock"),
    (bedrock_log(), "bedrock"),
    (gemini(), "gemini"),
    (gemini_sdk(), "gemini"),
    (deepseek(), "deepseek"),
    (usage_report(), "anthropic-usage-report"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_each_format_is_detected_in_every_run(line: dict[str, Any], fmt: str) -> None:
    assert verdicts(line) == {fmt}


def test_deepseek_is_checked_before_openai_whose_shape_it_shares() -> None:
    assert verdicts(deepseek()) == {"deepseek"}
    line = deepseek()
    for key in ("prompt_cache_hit_tokens", "prompt_cache_miss_tokens"):
        del line["usage"][key]
    assert verdicts(line) == {"openai"}


@pytest.mark.parametrize("line", [
    gemini(workflow="review"), bedrock_log(workflow="review"),
    usage_report(workflow="review"), bedrock_converse(cache_hit=True),
], ids=["gemini", "bedrock-log", "usage-report", "bedrock"])
def test_a_backlog_field_beside_another_formats_container_makes_a_backlog_line(
        line: dict[str, Any]) -> None:
    """As for every format since the first: the backlog's own fields decide first, on
    the plain path and the general one alike."""
    assert verdicts(line) == {"backlog"}


@pytest.mark.parametrize("line", [
    {"type": "summary", "summary": "Fixing the cache", "leafUuid": "x"},
    {"event": "deploy", "input": [1, 2], "output": "ok", "results": [{"a": 1}]},
    {"schemaType": "SomethingElse", "input": {"inputTokenCount": "many"}},
    {"metadata": {"usage": {"inputTokens": 5}}},
])
def test_objects_in_no_format_are_not_requests(line: dict[str, Any]) -> None:
    assert verdicts(line) == {"not a request"}
