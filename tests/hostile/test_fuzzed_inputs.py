"""Arbitrary ledgers, settings and policy configs, through the commands that read
them: the exit code is always 0, 1 or 2, and nothing ever breaks inside (the last
line of defence, `internal error`, never fires)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.cli import cli
from tests.ledgers import anthropic, backlog, claude_code, litellm, openai_chat

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = (st.none() | st.booleans() | st.integers(-(10**20), 10**20)
           | st.floats(allow_nan=False) | st.text(max_size=12))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=12)
known_lines = st.sampled_from([backlog(), anthropic(), openai_chat(), litellm(),
                               claude_code()])


@st.composite
def ledger_lines(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=60)).replace(b"\n", b" ")
    if kind == 1:
        return json.dumps(draw(json_values)).encode()
    line = dict(draw(known_lines))
    for key in draw(st.lists(st.sampled_from(sorted(set(line) | {"usage", "x"})),
                             max_size=3)):
        line[key] = draw(json_values)
    return json.dumps(line).encode()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@FUZZ
@given(lines=st.lists(ledger_lines(), max_size=12), command=st.sampled_from(["kpi", "report"]),
       window=st.sampled_from([[], ["--days", "3", "--now", "2026-11-21"],
                               ["--until", "2026-11-20"]]))
def test_any_ledger(tmp_path: Path, lines: list[bytes], command: str,
                    window: list[str]) -> None:
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_bytes(b"\n".join(lines) + b"\n")
    code, output = run(command, "--ledger", str(ledger), "--min-requests", "0", *window)
    assert code in (0, 1, 2) and "internal error" not in output, output


@pytest.mark.parametrize("command", ["kpi", "report"])
def test_a_time_past_any_date_is_no_time(tmp_path: Path, command: str) -> None:
    """A response `created` past year 9999 once stopped `kpi` with an internal error,
    and `report` with one that blamed the disk: it is no time, the record undated."""
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("".join(json.dumps(openai_chat(created=created)) + "\n"
                              for created in (10**17, -(10**17), 1e308)))
    code, output = run(command, "--ledger", str(ledger), "--min-requests", "0")
    assert code in (0, 1), output
    code, output = run(command, "--ledger", str(ledger), "--min-requests", "0",
                       "--format", "json", "--days", "7", "--now", "2026-11-21")
    assert json.loads(output)["ledger"]["window"]["undated_excluded"] == 3


@FUZZ
@given(table=st.dictionaries(st.sampled_from(["min-requests", "days", "targets", "required",
                                              "ledger", "prices", "strict", "x"]),
                             json_values, max_size=4))
def test_any_settings(tmp_path: Path, table: dict[str, object]) -> None:
    lines = []
    for key, value in table.items():
        lines.append(f"{json.dumps(key)} = {json.dumps(value)}")
    text = "\n".join(lines) + "\n"  # not always valid TOML: that is a case too
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(text)
    (tmp_path / "ledger.jsonl").write_text(json.dumps(backlog()) + "\n")
    code, output = run("kpi", "--settings", str(settings_file), "--ledger",
                       str(tmp_path / "ledger.jsonl"))
    assert code in (0, 1, 2) and "internal error" not in output, output


@FUZZ
@given(document=json_values, proxy=json_values)
def test_any_policy_config(tmp_path: Path, document: object, proxy: object) -> None:
    (tmp_path / "backlog.config.json").write_text(json.dumps(document))
    (tmp_path / "proxy.yaml").write_text(json.dumps(proxy))  # JSON is YAML
    for format_name in ("text", "json"):
        code, output = run("policy", "--config", str(tmp_path / "backlog.config.json"),
                           "--litellm-config", str(tmp_path / "proxy.yaml"),
                           "--format", format_name)
        assert code in (0, 1, 2) and "internal error" not in output, output
