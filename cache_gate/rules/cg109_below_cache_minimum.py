"""CG109 below-cache-minimum: a stable prefix shorter than the model's minimum cacheable length.

Providers cache a prefix only from a minimum length on, and a shorter one is
processed without caching and without any error: the `cache_control` marker is
silently ignored. The minimum depends on the model and on the platform that serves
it (Anthropic, in tokens: 512 for Opus 5, Fable 5 and Mythos 5; 1,024 for Opus 4.8,
Sonnet 5, Sonnet 4.6 and 4.5, Opus 4.1 and 4; 2,048 for Opus 4.7, Mythos Preview and
Haiku 3.5; 4,096 for Opus 4.6, Opus 4.5 and Haiku 4.5. Bedrock publishes its own:
4,096 for Opus 4.7 and Mythos Preview). The table ships in
`cache_gate/data/model_minimums.json`, with the source of every figure; the
`model-minimums` table of the settings overrides or extends it on every platform
(e.g. for a LiteLLM alias).

The prompt's `model` (else the manifest's `defaults.model`) selects the minimum;
ids are matched with or without provider prefix and date suffix
(`anthropic/claude-haiku-4-5`, `claude-haiku-4-5-20251001`,
`us.anthropic.claude-haiku-4-5-20251001-v1:0`). The id also names the platform:
`bedrock/...` and Bedrock ids (`anthropic.claude-...`, `us.anthropic.claude-...`) are
Bedrock, `vertex_ai/...` and `claude-...@20251001` are Vertex AI, anything else the
Anthropic API; a platform with no figure of its own uses the Anthropic one, and the
message names the platform when it is not the Anthropic API.

Token counts are estimates (cache-gate has no tokenizer; see "Token estimates" in
the README). So as not to cry wolf, the rule fires only when the estimate plus a
25% margin is still below the minimum; a prefix within the margin gets a note, not
an error. A prompt without a model, or with a model the table does not know, gets
a note too.

Example::

    {"id": "triage", "model": "claude-haiku-4-5",
     "stable_prefix": "prompts/triage.md"}      <- CG109: ≈900 tokens, minimum 4,096

Fix: grow the stable prefix past the minimum (move stable material such as tool
definitions, rules and examples before the breakpoint), route the prompt to a model
with a lower minimum, or drop the breakpoint and stop paying for cache writes that
never happen.
"""

from __future__ import annotations

from collections.abc import Iterator

from cache_gate.findings import Problem
from cache_gate.manifest.assemble import AssembledPrompt
from cache_gate.manifest.tokens import MARGIN, approx
from cache_gate.models import ANTHROPIC, described, platform_of
from cache_gate.rules.context import LintContext

RULE = "CG109"


def check_prompt(prompt: AssembledPrompt, context: LintContext) -> Iterator[Problem]:
    spec = prompt.spec
    if not prompt.stable_blocks:
        return  # no breakpoint: CG110
    if spec.model is None:
        context.prompts_without_model.append(spec.id)
        return
    minimum = context.minimums.minimum_for(spec.model)
    if minimum is None:
        context.unknown_models.setdefault(spec.model, []).append(spec.id)
        return
    tokens = prompt.tokens
    upper = round(tokens * (1 + MARGIN))
    if upper < minimum:
        yield context.manifest.problem(
            spec.path,
            f"stable prefix {approx(tokens)} tokens (estimated; {approx(upper)} with a "
            f"{MARGIN:.0%} margin) is below "
            f"{_minimum_of(spec.model, f'{minimum:,} cacheable tokens')}: the provider "
            "silently skips caching it",
            key=f"{spec.model} below {minimum}")
    elif tokens < minimum:
        context.notes.append(
            f"prompt {spec.id}: stable prefix {approx(tokens)} tokens (estimated) is close "
            f"to {_minimum_of(spec.model, f'{minimum:,}')}; within the estimate's margin, so "
            "not reported. Check with the provider's token counting API.")


def _minimum_of(model: str, amount: str) -> str:
    """`model`'s minimum for messages, naming the platform where it is not the Anthropic API."""
    if platform_of(model) == ANTHROPIC:
        return f"{model}'s minimum of {amount}"
    return f"the minimum of {amount} for {described(model)} ({model})"
