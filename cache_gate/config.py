"""cache-gate's own settings: `[tool.cache-gate]` in pyproject.toml or `.cache-gate.toml`.

Precedence: command line > settings file > defaults. Validation is strict: an unknown
key or a wrong type is an error that names the key and the file it was set in.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from cache_gate.errors import InputError
from cache_gate.inputs import note_input

KPI_NAMES = (
    "prompt_cache_hit_rate",
    "cached_token_ratio",
    "response_cache_useful_hit_rate",
    "semantic_cache_useful_hit_rate",
    "avoidable_miss_rate",
)
# KPIs that pass at or below their target (the others pass at or above it).
LOWER_IS_BETTER = frozenset({"avoidable_miss_rate"})

KPI_LABELS = {
    "prompt_cache_hit_rate": "prompt cache hit rate",
    "cached_token_ratio": "cached token ratio",
    "response_cache_useful_hit_rate": "response cache useful hit rate",
    "semantic_cache_useful_hit_rate": "semantic cache useful hit rate",
    "avoidable_miss_rate": "avoidable miss rate",
}

DEFAULT_TARGETS: dict[str, float] = {
    "prompt_cache_hit_rate": 0.60,
    "cached_token_ratio": 0.40,
    "response_cache_useful_hit_rate": 0.20,
    "semantic_cache_useful_hit_rate": 0.10,
    "avoidable_miss_rate": 0.10,
}


def target_text(name: str, target: float) -> str:
    """`≥ 60%`, or `≤ 10%` for a KPI where lower is better."""
    return f"{'≤' if name in LOWER_IS_BETTER else '≥'} {target:.0%}"


def kpi_name(text: str) -> str:
    """The JSON name of a KPI; the dashed spelling is accepted too."""
    name = text.strip().replace("-", "_")
    if name not in KPI_NAMES:
        raise ValueError(f"unknown KPI {text!r}; expected one of {', '.join(KPI_NAMES)}")
    return name


class Settings(msgspec.Struct):
    ledger: str = ".backlog-ops/usage-ledger.jsonl"
    manifest: str = ".backlog-ops/prompt-manifest.json"
    lock: str = ".backlog-ops/prompt-manifest.lock.json"
    config: str = "backlog.config.json"
    litellm_config: str | None = None
    min_requests: int = 30
    strict: bool = False
    days: int | None = None
    targets: dict[str, float] = msgspec.field(default_factory=lambda: dict(DEFAULT_TARGETS))
    workflow_targets: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)
    required: list[str] = msgspec.field(default_factory=list)
    select: list[str] = msgspec.field(default_factory=list)
    ignore: list[str] = msgspec.field(default_factory=list)
    # Seconds within which a repeated request should have been a response-cache hit.
    response_cache_ttl: int = 3600
    # Base input price in USD per million tokens, by model (overrides the shipped table).
    prices: dict[str, float] = msgspec.field(default_factory=dict)
    # Minimum cacheable prompt length in tokens, by model (overrides the shipped table).
    model_minimums: dict[str, int] = msgspec.field(default_factory=dict)
    # Seconds one run of a prompt's render command may take (lint, CG112).
    render_timeout: float = 10.0
    source: str = "defaults"


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_fraction(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _table_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, dict) and all(check(v) for v in value.values())


_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "ledger": (_is_str, "a path"),
    "manifest": (_is_str, "a path"),
    "lock": (_is_str, "a path"),
    "config": (_is_str, "a path"),
    "litellm_config": (_is_str, "a path"),
    "min_requests": (lambda v: _is_int(v) and v >= 0, "a whole number >= 0"),
    "strict": (lambda v: isinstance(v, bool), "true or false"),
    "days": (lambda v: _is_int(v) and v > 0, "a whole number > 0"),
    "targets": (_table_of(_is_fraction), "a table of KPI name = fraction 0..1"),
    "workflow_targets": (_table_of(_table_of(_is_fraction)),
                         "a table of workflow = {KPI name = fraction 0..1}"),
    "required": (_is_str_list, "a list of KPI names"),
    "select": (_is_str_list, "a list of rule IDs"),
    "ignore": (_is_str_list, "a list of rule IDs"),
    "response_cache_ttl": (lambda v: _is_int(v) and v > 0, "seconds, a whole number > 0"),
    "prices": (_table_of(lambda v: isinstance(v, int | float) and not isinstance(v, bool)
                         and v >= 0), "a table of model = USD per million input tokens"),
    "model_minimums": (_table_of(lambda v: _is_int(v) and v > 0),
                       "a table of model = minimum cacheable tokens"),
    "render_timeout": (lambda v: isinstance(v, int | float) and not isinstance(v, bool)
                       and 0 < v <= 600, "seconds, a number > 0 and <= 600"),
}


def find_settings_file(start: Path) -> tuple[Path, Mapping[str, Any]] | None:
    """`.cache-gate.toml`, else pyproject.toml's `[tool.cache-gate]`, in `start`."""
    dedicated = start / ".cache-gate.toml"
    if dedicated.is_file():
        return dedicated, _read_toml(dedicated)
    pyproject = start / "pyproject.toml"
    if pyproject.is_file():
        table = _tool_table(_read_toml(pyproject), pyproject)
        if table is not None:
            return pyproject, table
    return None


def _tool_table(document: Mapping[str, Any], path: Path) -> Mapping[str, Any] | None:
    """`[tool.cache-gate]` of a pyproject-like document, None when it has none."""
    tool = document.get("tool")
    if not isinstance(tool, dict) or "cache-gate" not in tool:
        return None
    table = tool["cache-gate"]
    if not isinstance(table, dict):
        raise InputError(f"{path}: [tool.cache-gate] must be a table of settings, "
                         f"not a {type(table).__name__}")
    return table


# A settings file is a few lines; anything far larger is not one.
SETTINGS_MAX_BYTES = 1 << 20


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            note_input(path, os.fstat(handle.fileno()))
            data = handle.read(SETTINGS_MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read settings file {path}: {exc.strerror}") from None
    if len(data) > SETTINGS_MAX_BYTES:
        raise InputError(f"settings file {path} is over 1 MiB: not a settings file")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (TOML files are UTF-8)") from None
    except RecursionError:
        raise InputError(f"{path}: invalid TOML: nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML: {exc}") from None


def load_settings(explicit: str | None = None, start: Path | None = None) -> Settings:
    """Settings from `--settings PATH`, or discovered in `start` (default: cwd)."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise InputError(f"settings file {explicit} does not exist (--settings)")
        document = _read_toml(path)
        table = _tool_table(document, path)
        return settings_from_table(document if table is None else table, str(path))
    found = find_settings_file(start or Path.cwd())
    if found is None:
        return Settings()
    path, table = found
    return settings_from_table(table, str(path))


def settings_from_table(table: Mapping[str, Any], where: str) -> Settings:
    settings = Settings(source=where)
    known = set(Settings.__struct_fields__) - {"source"}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key not in known:
            raise InputError(f"{where}: unknown setting {raw_key!r} in [tool.cache-gate]; "
                             f"known: {', '.join(sorted(k.replace('_', '-') for k in known))}")
        check, expected = _KEYS[key]
        if not check(value):
            raise InputError(f"{where}: setting {raw_key!r} must be {expected}, "
                             f"got {value!r}")
        if key == "targets":
            value = {**DEFAULT_TARGETS, **_kpi_table(value, where, raw_key)}
        elif key == "workflow_targets":
            value = {wf: _kpi_table(t, where, f"{raw_key}.{wf}") for wf, t in value.items()}
        elif key == "required":
            value = [_kpi(v, where, raw_key) for v in value]
        setattr(settings, key, value)
    return settings


def _kpi(name: str, where: str, key: str) -> str:
    try:
        return kpi_name(name)
    except ValueError as exc:
        raise InputError(f"{where}: setting {key!r}: {exc}") from None


def _kpi_table(table: Mapping[str, float], where: str, key: str) -> dict[str, float]:
    return {_kpi(name, where, key): float(value) for name, value in table.items()}
