"""CG403 manifest-coverage-gap: high-volume prompts or workflows missing from the manifest.

The runbook's second escalation step: "verify the prompt manifest covers all
high-volume paths". A prompt (`prompt_id`) or workflow carrying at least 5% of
the ledger's input tokens (of its requests, when the ledger reports no tokens)
that has no manifest entry is reported (warning): its stable prefix is never
linted nor locked, so nothing stops a change from breaking its cache. Records
with a `prompt_id` are matched on it; records without one on their workflow (a
manifest prompt whose `workflow` or `id` is that workflow covers it). Without any
manifest, one finding says so.

Example: `cache-gate doctor` in `fixtures/demo` reports

    .backlog-ops/prompt-manifest.json: CG403 manifest-coverage-gap warning: prompt
    validation carries 26.5% of the ledger's input tokens (1,946,190 of 7,352,025;
    106 requests) and has no entry in the prompt manifest: its stable prefix is
    never linted nor locked

Fix: add the prompt to the manifest (`"id"` or `"workflow"`, as the message says)
and run `cache-gate lint --update-lock`.
"""

from __future__ import annotations

from cache_gate.doctor.ledger_profile import LedgerProfile
from cache_gate.doctor.manifest_index import ManifestIndex
from cache_gate.findings import Finding
from cache_gate.policy.engine import flag

HIGH_VOLUME_SHARE = 0.05


# Uncovered paths listed in the JSON, the largest first.
UNCOVERED_SHOWN = 20


def check_coverage(profile: LedgerProfile, manifest: ManifestIndex | None,
                   ledger: str) -> tuple[list[Finding], list[str], dict[str, object]]:
    """Findings, notes for people, and the JSON section."""
    _, requests, tokens = profile.path_totals()
    unattributed = profile.unattributed
    measure = 1 if tokens + unattributed[1] else 0  # index into [requests, tokens]
    unit = "input tokens" if measure else "requests"
    total = tokens + unattributed[1] if measure else requests + unattributed[0]
    if not total:
        return [], [f"{ledger}: no requests to measure manifest coverage on"], {}
    findings: list[Finding] = []
    covered = 0
    uncovered: list[dict[str, object]] = []
    for (kind, name), *sums in profile.paths_by(measure):
        known = manifest is not None and (manifest.covers_prompt(name) if kind == "prompt"
                                          else manifest.covers_workflow(name))
        share = sums[measure] / total
        if known:
            covered += sums[measure]
            continue
        if len(uncovered) < UNCOVERED_SHOWN:
            uncovered.append({"kind": kind, "name": name, "share": round(share, 4),
                              "requests": sums[0], "input_tokens": sums[1]})
        if manifest is not None and share >= HIGH_VOLUME_SHARE:
            findings.append(flag(
                "CG403", f"{kind} {name} carries {share:.1%} of the ledger's {unit} "
                f"({sums[measure]:,} of {total:,}; {sums[0]:,} requests) and has no entry in "
                f"the prompt manifest: its stable prefix is never linted nor locked",
                path=manifest.display, key=f"{kind}:{name}",
                hint=f"Add a prompt with \"{'id' if kind == 'prompt' else 'workflow'}\": "
                     f"\"{name}\" to {manifest.display} and run "
                     "`cache-gate lint --update-lock`."))
    section: dict[str, object] = {
        "manifest": manifest.display if manifest is not None else None,
        "measure": unit.replace(" ", "_"),
        "covered_share": round(covered / total, 4) if manifest is not None else None,
        "uncovered": uncovered,
        "unattributed_share": round(unattributed[measure] / total, 4),
    }
    notes = []
    if manifest is not None:
        notes.append(f"manifest {manifest.display} covers {covered / total:.1%} of the "
                     f"ledger's {unit}")
    if unattributed[measure]:
        notes.append(f"{unattributed[measure] / total:.1%} of the ledger's {unit} name neither "
                     "a workflow nor a prompt_id: their coverage cannot be told")
    return findings, notes, section


def missing_manifest(profile: LedgerProfile, path: str, ledger: str) -> Finding | None:
    """One finding when there is no manifest at all but the ledger has traffic."""
    count, _, _ = profile.path_totals()
    if not count:
        return None
    what = "prompt or workflow" if count == 1 else "prompts and workflows"
    return flag("CG403", f"no prompt manifest at {path}, so none of the {count:,} {what} in "
                f"{ledger} has its stable prefix linted",
                path=path, key="no-manifest",
                hint="Create the manifest (README: Lint) starting with the highest-volume "
                     "workflows, or pass --manifest PATH.")
