"""`cache-gate check`: every gate whose input exists, one combined result.

A gate whose input is absent is skipped, and the report says so. A gate whose
input exists but cannot be read does not stop the others: its error is reported
and the combined exit code is 2 (could not decide).

The gates after lint are imported while lint's render commands run (a hook's
start-up is mostly imports): `check` then takes little more than its slowest part.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cache_gate.config import Settings
from cache_gate.errors import InputError
from cache_gate.findings import Result
from cache_gate.gates import gate as load

# The gates `check` runs, in order: modules of this package with `inputs` and `run`.
GATES = ("lint", "kpi", "policy")


def _exists(path: str) -> bool:
    """Whether an input is there; one that is there but cannot be looked at (a
    directory without search permission) counts as there, so its gate says why."""
    if "://" in path:
        return True
    try:
        Path(path).stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, ValueError):  # permission denied, a NUL in the name, ...
        return True
    return True


def _load_all(gates: tuple[str, ...]) -> None:
    """Import the gates (each is imported anyway, to ask for its inputs)."""
    for name in gates:
        load(name)


def run(settings: Settings, params: Mapping[str, Any], gates: tuple[str, ...] = GATES) -> Result:
    """`cache-gate check`: every gate whose input exists, one combined result."""
    combined = Result("check")
    summary: dict[str, dict[str, object]] = {}
    for index, name in enumerate(gates):
        gate = load(name)
        inputs = gate.inputs(settings, params)
        present = [path for path in inputs if _exists(path)]
        if not present:
            reason = f"no {' or '.join(inputs)}"
            summary[name] = {"status": "skipped", "reason": reason}
            combined.notes.append(f"{name}: skipped ({reason})")
            continue
        try:
            if name == "lint":
                from cache_gate.gates import lint

                later = functools.partial(_load_all, gates[index + 1:])
                result = lint.run(settings, params, meanwhile=later)
            else:
                result = gate.run(settings, params)
        except InputError as exc:
            summary[name] = {"status": "error", "reason": str(exc)}
            combined.undecided.append(f"{name}: {exc}")
            combined.notes.append(f"{name}: could not decide: {exc}")
            continue
        summary[name] = {"status": "passed" if result.passed else "failed",
                              "exit_code": int(result.exit_code()),
                              "findings": len(result.findings)}
        combined.findings += result.findings
        combined.undecided += result.undecided
        combined.notes += result.notes
        for key, value in result.sections.items():
            combined.sections.setdefault(key, value)
    combined.sections["gates"] = summary
    return combined
