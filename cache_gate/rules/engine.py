"""The lint engine: turns rule problems into findings.

It stamps each problem with its rule's ID, name and catalogue severity (unless the
rule chose one), places it (a file line; the manifest line for text blocks and
render output), applies the rule selection (`select`/`ignore`), per-prompt
`"ignore"` lists and `cache-gate: ignore[...]` comments, reports repeats in one file
once, and reports a finding shared by several prompts once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgspec

from cache_gate import rules
from cache_gate.errors import InputError
from cache_gate.findings import Finding, Problem

if TYPE_CHECKING:  # `policy` reads RuleSelection and needs no manifest
    from cache_gate.manifest.assemble import Part
    from cache_gate.manifest.spec import PromptSpec

MAX_LISTED_LINES = 5


class RuleSelection:
    """Which rules run: `select` (only these; empty: all) minus `ignore`.

    Entries are rule IDs (`CG101`), ID prefixes (`CG1`, `CG10`) or rule names
    (`timestamp-literal`).
    """

    def __init__(self, select: Iterable[str] = (), ignore: Iterable[str] = (),
                 where: str = "") -> None:
        self.selected = _resolve(select, where or "select")
        self.ignored = _resolve(ignore, where or "ignore")

    def enabled(self, rule_id: str) -> bool:
        if self.selected and rule_id not in self.selected:
            return False
        return rule_id not in self.ignored


def _resolve(entries: Iterable[str], where: str) -> frozenset[str]:
    names = {info.name: rule_id for rule_id, info in rules.RULES.items()}
    resolved: set[str] = set()
    for raw in entries:
        for entry in (piece.strip() for piece in raw.split(",")):
            if not entry:
                continue
            if entry.lower() in names:
                resolved.add(names[entry.lower()])
                continue
            matching = {rule_id for rule_id in rules.RULES if rule_id.startswith(entry.upper())}
            if not matching or len(entry) < 3:
                raise InputError(f"{where}: unknown rule {entry!r}; use rule IDs such as "
                                 "CG101, prefixes such as CG1, or names such as "
                                 "timestamp-literal")
            resolved |= matching
    return frozenset(resolved)


class _Entry(msgspec.Struct):
    rule: str
    prompt_id: str | None
    problem: Problem
    path: str | None
    line: int | None
    message: str
    # Lines of the part's text (for a file: the same as `line`).
    lines: list[int]


class LintEngine:
    def __init__(self, selection: RuleSelection, manifest_display: str) -> None:
        self.selection = selection
        self.manifest_display = manifest_display
        self.suppressed = 0
        self._entries: dict[tuple[str, str | None, int | None, str], _Entry] = {}
        self._groups: dict[tuple[str, str | None, str, str], _Entry] = {}

    def enabled(self, rule_id: str, prompt: PromptSpec | None = None) -> bool:
        if not self.selection.enabled(rule_id):
            return False
        return prompt is None or rule_id not in prompt.ignore

    def add(self, rule_id: str, problem: Problem, prompt: PromptSpec | None = None,
            part: Part | None = None, prompt_id: str | None = None) -> None:
        """Record one problem of `rule_id`, found in `part` (its line is a line of the
        part's text) or located by the problem itself (path and line of a file)."""
        if not self.enabled(rule_id, prompt):
            return
        if part is not None and problem.line is not None:
            ignored_here = part.suppressions.get(problem.line)
            if ignored_here and rule_id in ignored_here:
                self.suppressed += 1
                return
        path, line, message = self._place(problem, part)
        entry = _Entry(rule_id, prompt.id if prompt else prompt_id, problem, path, line,
                       message, [problem.line] if problem.line is not None else [])
        if problem.group is not None:
            pointer = "" if part is None or part.is_file else repr(part.pointer)
            group_key = (rule_id, path, pointer, problem.group)
            grouped = self._groups.get(group_key)
            if grouped is None:
                self._groups[group_key] = entry
            elif problem.line is not None and problem.line not in grouped.lines:
                grouped.lines.append(problem.line)
            return
        key = (rule_id, path, line, message)
        self._entries.setdefault(key, entry)

    def _place(self, problem: Problem, part: Part | None) -> tuple[str | None, int | None, str]:
        if part is None or part.is_file:
            path = problem.path or (part.display if part else None)
            return path, problem.line, problem.message
        from cache_gate.manifest.positions import format_path

        where = format_path(part.pointer)
        if part.kind == "render":
            prefix = f"{where}: render output line {problem.line}: "
        else:
            prefix = f"{where}: "
        return self.manifest_display, part.anchor_line, prefix + problem.message

    def findings(self) -> list[Finding]:
        found = [self._finding(entry) for entry in self._entries.values()]
        for entry in self._groups.values():
            lines = sorted(entry.lines)
            if len(lines) > 1:
                listed = ", ".join(str(line) for line in lines[:MAX_LISTED_LINES])
                more = ", …" if len(lines) > MAX_LISTED_LINES else ""
                entry.message += f" ({len(lines)} lines: {listed}{more})"
            found.append(self._finding(entry))
        return found

    def _finding(self, entry: _Entry) -> Finding:
        info = rules.get(entry.rule)
        problem = entry.problem
        return Finding(
            path=entry.path,
            line=entry.line,
            rule=info.id,
            name=info.name,
            severity=problem.severity or info.severity,
            message=entry.message,
            prompt_id=entry.prompt_id,
            hint=problem.hint or info.fix,
            key=problem.key or entry.message,
        )
