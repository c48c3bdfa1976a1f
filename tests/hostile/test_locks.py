"""Any lock file, however mangled (a merge conflict, a hand edit, an attacker's pull
request), is a finding or a drift, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.cli import cli

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)
entries = st.fixed_dictionaries({}, optional={
    "sha256": json_values, "bytes": json_values, "blocks": json_values,
    "tokens": json_values, "parts": json_values, "lines": json_values})
locks = st.one_of(
    json_values,
    st.fixed_dictionaries({"lock_version": st.sampled_from([1, 2, "1", None]),
                           "prompts": st.dictionaries(st.sampled_from(["reviewer", "x"]),
                                                      entries | json_values, max_size=3)}),
)


def repository(root: Path) -> None:
    (root / ".backlog-ops").mkdir(exist_ok=True)
    (root / "prompts").mkdir(exist_ok=True)
    (root / "prompts" / "system.md").write_text("You are the reviewer.\n" * 300)
    (root / ".backlog-ops" / "prompt-manifest.json").write_text(json.dumps({
        "version": 1, "defaults": {"model": "claude-sonnet-4-5"},
        "prompts": [{"id": "reviewer", "stable_prefix": "prompts/system.md"}]}))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lock=locks)
def test_any_lock_is_a_finding_never_a_crash(tmp_path: Path, lock: object) -> None:
    repository(tmp_path)
    (tmp_path / ".backlog-ops" / "prompt-manifest.lock.json").write_text(json.dumps(lock))
    result = CliRunner().invoke(cli, ["lint", "--no-render", "--manifest",
                                      str(tmp_path / ".backlog-ops" / "prompt-manifest.json")])
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output
