"""Reading configs: bounded against hostile YAML, clear one-line errors, lines for findings."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from cache_gate.errors import InputError
from cache_gate.policy.loading import MAX_CONFIG_BYTES, load_config, load_json, load_yaml
from tests.policy.helpers import FIXTURES, policy

UNREADABLE = FIXTURES / "unreadable"


@pytest.mark.parametrize(("name", "says"), [
    ("alias-bomb.yaml", "expands to over 200,000 values through YAML aliases"),
    ("merge-bomb.yaml", "expands to over 200,000 values through YAML aliases"),
    ("recursive-alias.yaml", "recursive YAML alias"),
])
def test_hostile_yaml_is_refused_fast_and_small(name: str, says: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(InputError, match=says):
            load_yaml(UNREADABLE / name, name, "LiteLLM config")
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 32 << 20


def test_the_bomb_through_the_cli_is_exit_2_and_one_line() -> None:
    code, out, err = policy("--litellm-config", str(UNREADABLE / "alias-bomb.yaml"),
                            "--config", str(UNREADABLE / "absent.json"))
    assert code == 2 and out == ""
    # The backlog config is named and missing: that is said first, in one line.
    assert err.count("\n") == 1 and err.startswith("cache-gate: error: ")


def test_deep_nesting_stops_early(tmp_path: Path) -> None:
    shallow = tmp_path / "shallow.yaml"
    shallow.write_text("a:" + " [" * 65 + " 1" + "]" * 65 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="nests deeper than 64 levels"):
        load_yaml(shallow, "shallow.yaml", "LiteLLM config")
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    started = time.perf_counter()
    # Refused by our depth bound, or first by libyaml's own where its build has one.
    with pytest.raises(InputError, match=r"nests deeper than 64 levels|maximum nesting depth"):
        load_yaml(path, "deep.yaml", "LiteLLM config")
    assert time.perf_counter() - started < 2.0


def test_deep_json_nesting_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(InputError, match="nested too deeply"):
        load_json(path, "deep.json", "backlog config")


def test_too_many_values_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.yaml"
    path.write_text("[" + ",".join(["1"] * 150_000) + "]", encoding="utf-8")
    with pytest.raises(InputError, match="over 100,000 YAML values"):
        load_yaml(path, "wide.yaml", "LiteLLM config")


def test_a_huge_file_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# padding\n" * (MAX_CONFIG_BYTES // 10 + 1))
    with pytest.raises(InputError, match="is over 1,048,576 bytes"):
        load_yaml(path, "huge.yaml", "LiteLLM config")


@pytest.mark.parametrize(("text", "says"), [
    ("a: [1, 2\n", "huh.yaml:2:1: LiteLLM config is not valid YAML: did not find expected"),
    ("a: 1\n---\nb: 2\n", "expected a single document in the stream, but found another"),
    ("? [a]\n: 1\n", "found unhashable key"),
    ("a: !!python/object:os.system {}\n", "could not determine a constructor"),
])
def test_yaml_errors_point_at_the_place(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "huh.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=None) as raised:
        load_yaml(path, "huh.yaml", "LiteLLM config")
    assert says in str(raised.value)


@pytest.mark.parametrize(("text", "says"), [
    ('{"a": 1,}', "x.json:1:9: backlog config is not valid JSON"),
    ('{"a": NaN}', "NaN is not a JSON number"),
])
def test_json_errors(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_json(path, "x.json", "backlog config")
    assert says in str(raised.value)


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_config(tmp_path / "absent.yaml", "absent.yaml", "LiteLLM config")
    with pytest.raises(InputError, match="is a directory"):
        load_config(tmp_path, "dir", "LiteLLM config")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("cache: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"is not UTF-8 \(byte 10\)"):
        load_config(latin1, "latin1.yaml", "LiteLLM config")


def test_lines_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("defaults: &d\n  ttl: 60\nlitellm_settings:\n  cache: true\n"
                    "  cache_params:\n    <<: *d\n    type: redis\n    type: local\n",
                    encoding="utf-8")
    document = load_yaml(path, "c.yaml", "LiteLLM config")
    assert document.data["litellm_settings"]["cache_params"] == {"ttl": 60, "type": "local"}
    assert document.line_of(("litellm_settings", "cache")) == 4
    # A merged key has no line of its own: its mapping's line stands in.
    assert document.line_of(("litellm_settings", "cache_params", "ttl")) == 5
    [duplicate] = document.duplicates
    assert (duplicate.path, duplicate.line, duplicate.first_line) == (
        ("litellm_settings", "cache_params", "type"), 8, 7)


def test_an_empty_yaml_file_is_not_a_mapping(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no backlog.config.json here: only the LiteLLM config
    Path("empty.yaml").write_text("# nothing yet\n", encoding="utf-8")
    code, out, _ = policy("--litellm-config", "empty.yaml")
    assert code == 1
    assert ("empty.yaml: CG301 policy-invalid error: (top level): a LiteLLM proxy config must "
            "be a YAML mapping") in out
