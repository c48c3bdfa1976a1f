"""The lint rules (CG100-CG113) and their checks, in report order.

Each rule is a module named after it; its docstring is the rule's documentation, from
which its page in docs/rules/ is generated. A new rule is its module, its entry in the
catalogue (`rules/__init__.py`) and one line here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType

from cache_gate.findings import Problem
from cache_gate.manifest.assemble import AssembledPrompt, Part
from cache_gate.rules import (
    cg100_manifest_invalid,
    cg101_timestamp_literal,
    cg102_clock_expression,
    cg103_dynamic_placeholder,
    cg104_unique_identifier,
    cg105_unordered_include,
    cg106_environment_specific,
    cg107_whitespace_hazard,
    cg108_dynamic_before_stable,
    cg109_below_cache_minimum,
    cg110_breakpoint_layout,
    cg111_prefix_drift,
    cg112_nondeterministic_render,
    cg113_unstable_json,
)
from cache_gate.rules.context import LintContext, TextScope

TextCheck = Callable[[Part, TextScope, LintContext], Iterable[Problem]]
PromptCheck = Callable[[AssembledPrompt, LintContext], Iterable[Problem]]

MODULES: dict[str, ModuleType] = {module.RULE: module for module in (
    cg100_manifest_invalid,
    cg101_timestamp_literal,
    cg102_clock_expression,
    cg103_dynamic_placeholder,
    cg104_unique_identifier,
    cg105_unordered_include,
    cg106_environment_specific,
    cg107_whitespace_hazard,
    cg108_dynamic_before_stable,
    cg109_below_cache_minimum,
    cg110_breakpoint_layout,
    cg111_prefix_drift,
    cg112_nondeterministic_render,
    cg113_unstable_json,
)}

# Checks of the text of every stable-prefix file, text block and render output.
TEXT_CHECKS: dict[str, TextCheck] = {
    cg101_timestamp_literal.RULE: cg101_timestamp_literal.check_text,
    cg102_clock_expression.RULE: cg102_clock_expression.check_text,
    cg103_dynamic_placeholder.RULE: cg103_dynamic_placeholder.check_text,
    cg104_unique_identifier.RULE: cg104_unique_identifier.check_text,
    cg106_environment_specific.RULE: cg106_environment_specific.check_text,
    cg107_whitespace_hazard.RULE: cg107_whitespace_hazard.check_text,
}

# Checks of a prompt's layout and of its assembled stable prefix.
PROMPT_CHECKS: dict[str, PromptCheck] = {
    cg105_unordered_include.RULE: cg105_unordered_include.check_prompt,
    cg108_dynamic_before_stable.RULE: cg108_dynamic_before_stable.check_prompt,
    cg109_below_cache_minimum.RULE: cg109_below_cache_minimum.check_prompt,
    cg110_breakpoint_layout.RULE: cg110_breakpoint_layout.check_prompt,
    cg113_unstable_json.RULE: cg113_unstable_json.check_prompt,
}


def documentation(rule_id: str) -> str:
    """A lint rule's user documentation (its module docstring)."""
    return MODULES[rule_id].__doc__ or ""
