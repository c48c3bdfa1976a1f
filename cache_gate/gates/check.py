"""`cache-gate check`: every gate whose input exists, one combined result.

A gate whose input is absent is skipped, and the report says so. A gate whose
input exists but cannot be read does not stop the others: its error is reported
and the combined exit code is 2 (could not decide).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cache_gate.config import Settings
from cache_gate.errors import InputError
from cache_gate.findings import Result

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Gate:
    name: str
    # The files the gate reads; it runs when any of them exists.
    inputs: Callable[[Settings, Params], list[str]]
    run: Callable[[Settings, Params], Result]


def _lint_inputs(settings: Settings, params: Params) -> list[str]:
    return [params.get("manifest") or settings.manifest]


def _run_lint(settings: Settings, params: Params) -> Result:
    from cache_gate.gates.lint import lint_options, run_lint

    return run_lint(lint_options(settings, params))


def _kpi_inputs(settings: Settings, params: Params) -> list[str]:
    return [params.get("ledger") or settings.ledger]


def _run_kpi(settings: Settings, params: Params) -> Result:
    from cache_gate.gates.kpi import ledger_settings, run_kpi

    return run_kpi(ledger_settings(settings, params))


def _policy_inputs(settings: Settings, params: Params) -> list[str]:
    litellm = params.get("litellm_config") or settings.litellm_config
    return [params.get("config") or settings.config, *([litellm] if litellm else [])]


def _run_policy(settings: Settings, params: Params) -> Result:
    from cache_gate.gates.policy import policy_options, run_policy

    return run_policy(policy_options(settings, params))


GATES: tuple[Gate, ...] = (
    Gate("lint", _lint_inputs, _run_lint),
    Gate("kpi", _kpi_inputs, _run_kpi),
    Gate("policy", _policy_inputs, _run_policy),
)


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


def run_check(settings: Settings, params: Params, gates: tuple[Gate, ...] = GATES) -> Result:
    combined = Result("check")
    summary: dict[str, dict[str, object]] = {}
    for gate in gates:
        inputs = gate.inputs(settings, params)
        present = [path for path in inputs if _exists(path)]
        if not present:
            reason = f"no {' or '.join(inputs)}"
            summary[gate.name] = {"status": "skipped", "reason": reason}
            combined.notes.append(f"{gate.name}: skipped ({reason})")
            continue
        try:
            result = gate.run(settings, params)
        except InputError as exc:
            summary[gate.name] = {"status": "error", "reason": str(exc)}
            combined.undecided.append(f"{gate.name}: {exc}")
            combined.notes.append(f"{gate.name}: could not decide: {exc}")
            continue
        summary[gate.name] = {"status": "passed" if result.passed else "failed",
                              "exit_code": int(result.exit_code()),
                              "findings": len(result.findings)}
        combined.findings += result.findings
        combined.undecided += result.undecided
        combined.notes += result.notes
        for key, value in result.sections.items():
            combined.sections.setdefault(key, value)
    combined.sections["gates"] = summary
    return combined
