"""What the policy and doctor rules share: the inputs they read and how a finding is made.

A rule yields findings through `flag`, which stamps the rule's name, catalogue
severity and fix from `cache_gate.rules`; `RuleFilter` then applies the settings'
`select`/`ignore`, scoped to the command's own rules (a `select = ["CG1"]` meant for
`lint` does not silence `policy`).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from cache_gate import rules
from cache_gate.findings import Finding, Severity
from cache_gate.models import ModelMinimums
from cache_gate.policy.backlog_config import BacklogPolicy
from cache_gate.policy.litellm_config import LiteLLMConfig


def flag(rule_id: str, message: str, *, path: str | None = None, line: int | None = None,
         key: str | None = None, severity: Severity | None = None,
         hint: str | None = None) -> Finding:
    """A finding of `rule_id`, with the catalogue's name, severity and fix unless given."""
    rule = rules.get(rule_id)
    return Finding(path, line, rule.id, rule.name, severity or rule.severity, message,
                   hint=hint or rule.fix, key=key)


class PolicyInputs(msgspec.Struct):
    """Everything a policy rule reads; `notes` collects what could not be checked and why."""

    backlog: BacklogPolicy | None
    litellm: LiteLLMConfig | None
    minimums: ModelMinimums
    notes: list[str] = msgspec.field(default_factory=list)


class RuleFilter:
    """The settings' select/ignore, applied to one command's family of rules."""

    def __init__(self, family: Iterable[str], select: Iterable[str] = (),
                 ignore: Iterable[str] = (), where: str = "select/ignore") -> None:
        from cache_gate.rules.engine import RuleSelection

        self.family = frozenset(family)
        selection = RuleSelection(select, ignore, where)
        selected = selection.selected & self.family
        self.enabled = (selected or self.family) - selection.ignored

    def keep(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if f.rule in self.enabled]
