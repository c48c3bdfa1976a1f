"""One module per command: check, lint, kpi, report, policy and doctor.

Each turns the settings and the command line's parameters into one `Result`: it reads
its inputs (through the sources), runs the checks or analyses, and places the
findings. The command line (`cache_gate.cli`) prints or writes that Result with a
reporter; nothing here prints.

Every gate module has `run(settings, params) -> Result`; those `check` runs also have
`inputs(settings, params)`, the files whose presence turns them on.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from cache_gate.config import Settings
    from cache_gate.findings import Result

COMMANDS = ("check", "lint", "kpi", "report", "policy", "doctor")


class Gate(Protocol):
    def run(self, settings: Settings, params: Mapping[str, Any]) -> Result: ...


class InputGate(Gate, Protocol):
    def inputs(self, settings: Settings, params: Mapping[str, Any]) -> list[str]: ...


def gate(name: str) -> InputGate:
    """The module of command `name` (imported on demand: a hook loads only its own)."""
    if name not in COMMANDS:
        raise ValueError(f"no gate named {name!r}")
    return cast("InputGate", importlib.import_module(f"{__name__}.{name}"))
