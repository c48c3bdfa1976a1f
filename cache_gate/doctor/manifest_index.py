"""Which prompts and workflows the prompt manifest declares, for coverage (CG403).

Only `prompts[].id` and `prompts[].workflow` are needed, and the manifest's full
loader (`cache_gate.manifest.loader`) does not keep `workflow` on its prompts
yet; so this reads those two keys, tolerantly, from the JSON. Swap it for the
loader once `PromptSpec` carries the workflow. Whether the manifest is valid is
`cache-gate lint`'s question (CG100), not doctor's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cache_gate.policy.loading import load_json


@dataclass(frozen=True)
class ManifestIndex:
    display: str
    prompt_ids: frozenset[str]
    workflows: frozenset[str]

    def covers_prompt(self, prompt_id: str) -> bool:
        return prompt_id in self.prompt_ids

    def covers_workflow(self, workflow: str) -> bool:
        """A workflow is covered by a prompt of that workflow, or a prompt named after it."""
        return workflow in self.workflows or workflow in self.prompt_ids


def read_manifest_index(path: Path, display: str) -> ManifestIndex:
    """Prompt ids and workflows; InputError when the file cannot be read as JSON."""
    document = load_json(path, display, "prompt manifest").data
    prompts = document.get("prompts") if isinstance(document, dict) else None
    ids: set[str] = set()
    workflows: set[str] = set()
    for prompt in prompts if isinstance(prompts, list) else []:
        if not isinstance(prompt, dict):
            continue
        if isinstance(prompt.get("id"), str):
            ids.add(prompt["id"])
        if isinstance(prompt.get("workflow"), str):
            workflows.add(prompt["workflow"])
    return ManifestIndex(display, frozenset(ids), frozenset(workflows))
