"""CG109 below-cache-minimum: a stable prefix shorter than the model's minimum cacheable length.

Providers cache a prefix only from a minimum length on, and a shorter one is
processed without caching and without any error: the `cache_control` marker is
silently ignored. The minimum depends on the model and on the platform that serves
it: from 512 tokens (Opus 5) to 4,096 (Haiku 4.5) on the Anthropic API, and Opus 4.7
needs 2,048 there but 4,096 on Bedrock. The table ships in
`cache_gate/data/model_minimums.json`, with the source of every figure (the
reference of `cache-gate lint` lists it); the `model-minimums` table of the settings
overrides or extends it on every platform (e.g. for a LiteLLM alias).

The prompt's `model` (else the manifest's `defaults.model`) selects the minimum;
ids are matched with or without provider prefix and date suffix
(`anthropic/claude-haiku-4-5`, `claude-haiku-4-5-20251001`,
`us.anthropic.claude-haiku-4-5-20251001-v1:0`). The id also names the platform:
`bedrock/...` and Bedrock ids (`anthropic.claude-...`, `us.anthropic.claude-...`) are
Bedrock, `vertex_ai/...` and `claude-...@20251001` are Vertex AI, anything else the
Anthropic API; a platform with no figure of its own uses the Anthropic one, and the
message names the platform when it is not the Anthropic API:
`us.anthropic.claude-opus-4-7` is held to Bedrock's 4,096 and `claude-opus-4-7` to
Anthropic's 2,048 (`below the minimum of 4,096 cacheable tokens for claude-opus-4-7
on Bedrock (us.anthropic.claude-opus-4-7)`).

Token counts are estimates (cache-gate has no tokenizer; see "Token estimates" in
the reference of `cache-gate lint`). So as not to cry wolf, the rule fires only when
the estimate plus a 25% margin is still below the minimum; a prefix within the
margin gets a note, not an error. A prompt without a model, or with a model the
table does not know, gets a note too.

Example:

    {"id": "triage", "model": "claude-haiku-4-5",
     "stable_prefix": "prompts/triage.md"}      <- CG109

    stable prefix ≈900 tokens (estimated; ≈1,120 with a 25% margin) is below
    claude-haiku-4-5's minimum of 4,096 cacheable tokens: the provider silently
    skips caching it

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
