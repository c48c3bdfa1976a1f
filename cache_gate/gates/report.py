"""`cache-gate report`: cache analytics for people. It never fails the build.

Reads the ledger into `analyses.breakdowns.Analytics` and lays its breakdowns out: by
workflow, phase, model and prompt; the daily prompt cache hit rate; duplicate spend;
runtime prefix drift (CG205); estimated savings.

A large ledger file is read by several processes, as `kpi`'s is, whose stretches merge
into exactly what one pass gives, or raise `InexactMerge` where they cannot (a request
repeated within the response cache curve's longest TTL across two stretches, or a
ledger far out of time order: see `analyses.merging`); the ledger is then read again
in one process, and once more keeping every request hash where that pass met one it
had dropped (`analyses.exact_reading`). A ledger whose first MiB carries request hashes
is read in one process from the start: it would nearly always be read twice; so is
one with a new prompt on most lines, whose stretches' states cost more to merge than
reading apart saves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from cache_gate.analyses import kpis
from cache_gate.analyses.breakdowns import (
    BREAKDOWN_SHOWN,
    Analytics,
    breakdown_rows,
    drift_findings,
    rate,
    rounded,
    savings,
)
from cache_gate.analyses.cause_findings import top_causes
from cache_gate.analyses.exact_reading import read_exactly
from cache_gate.analyses.lineage import DAYS_SHOWN
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.analyses.tuning import Tuning
from cache_gate.config import Settings
from cache_gate.errors import InputError
from cache_gate.findings import Result
from cache_gate.gates.kpi import LedgerOptions, kpi_result, ledger_settings, placed
from cache_gate.ledger.postgres import is_postgres_url
from cache_gate.ledger.reading import LedgerStats, Selection, Sink
from cache_gate.prices import load_prices

SPARKS = "▁▂▃▄▅▆▇█"
TOP_ROWS = 10
# Lineages shown in the text's TTL advice (the JSON holds up to 20).
TOP_ADVICE = 5
# In place of duplicate spend and prefix drift, for a ledger that cannot show them.
NO_HASHES: dict[str, object] = {
    "available": False,
    "reason": "this ledger records no request or prefix hashes (LiteLLM SpendLogs)",
}


def sparkline(values: Iterable[float | None]) -> str:
    """One character a day: the hit rate from ▁ (0%) to █ (100%); a gap where unknown."""
    return "".join(" " if v is None else SPARKS[min(int(v * len(SPARKS)), len(SPARKS) - 1)]
                   for v in values)


def run_report(options: LedgerOptions, settings: Settings) -> Result:
    def make_sink() -> Analytics:
        return Analytics(ttl=float(settings.response_cache_ttl),
                         causes=options.miss_causes(),
                         tuning=Tuning(load_prices(options.prices, options.settings_source)))

    sink: Sink
    if is_postgres_url(options.ledger):
        from cache_gate.analyses.postgres_sums import read_analytics

        sink, stats = read_analytics(options.ledger, options.selection, make_sink)
    else:
        sink, stats = read_ledger(options.ledger, options.selection, make_sink, options.jobs)
    assert isinstance(sink, Analytics)
    return report_result(sink, stats, options, settings)


def report_result(sink: Analytics, stats: LedgerStats, options: LedgerOptions,
                  settings: Settings) -> Result:
    """The report of a ledger read into `sink`."""
    sink.finish()
    assert sink.causes is not None
    result = kpi_result("report", sink.tally, stats, options, sink.causes)
    # The report informs; it does not gate: KPI shortfalls stay in the KPI table.
    result.findings = [f for f in result.findings if f.rule == "CG206"]
    result.findings += placed(drift_findings(sink, stats.path), stats, options)
    assert sink.tuning is not None
    declared = declared_ttls(Path(settings.manifest))
    result.findings += placed(sink.tuning.findings(stats.path, declared), stats, options)
    days, day_count = sink.days(DAYS_SHOWN)
    # The counts beside the rate, so that days sum into weeks exactly.
    trend: list[dict[str, object]] = [{"date": day, "requests": sums[kpis.REQUESTS],
              "eligible": sums[kpis.ELIGIBLE], "prompt_cache_hits": sums[kpis.PROMPT_HITS],
              "prompt_cache_hit_rate": rounded(rate(sums, "prompt_cache_hit_rate")),
              "cache_read_tokens": sums[kpis.CACHE_READ],
              "input_tokens": sums[kpis.INPUT_TOTAL],
              "cached_token_ratio": rounded(rate(sums, "cached_token_ratio"))}
             for day, sums in days]
    money = savings(sink, load_prices(settings.prices))
    duplicates = sink.duplicates
    groups = {name: sink.breakdown(name) for name in ("workflow", "phase", "model", "prompt_id")}
    left_out = {name: count - BREAKDOWN_SHOWN for name, (_, count) in groups.items()
                if count > BREAKDOWN_SHOWN}
    result.sections.update({
        "breakdown": {name: breakdown_rows(shown) for name, (shown, _) in groups.items()},
        **({"breakdown_left_out": left_out} if left_out else {}),
        "trend": trend,
        **({"trend_left_out": day_count - len(trend)} if day_count > len(trend) else {}),
        "duplicate_spend": {
            "ttl_seconds": settings.response_cache_ttl,
            "requests": duplicates.requests,
            "input_tokens": duplicates.input_tokens,
            "output_tokens": duplicates.output_tokens,
            "cost_usd": round(duplicates.cost_usd, 4),
            "requests_without_cost": duplicates.unpriced,
        } if sink.hashes_recorded else NO_HASHES,
        "prefix_drift": {prompt: dict(hashes.most_common())
                         for prompt, hashes in sink.drift(BREAKDOWN_SHOWN)[0]}
        if sink.hashes_recorded else NO_HASHES,
        "savings": money,
        **configured(sink.tuning.to_json(), settings),
    })
    result.notes = (_text(result.sections, trend, sink.causes) + tuning_text(result.sections)
                    + result.notes)
    return result


# A request hash with a value: `"request_sha256"`, a colon and a string.
HASHED = re.compile(rb'"request_sha256"\s*:\s*"')
# A prompt id with its value.
PROMPT = re.compile(rb'"prompt_id"\s*:\s*"([^"]*)"')
# How much of a ledger file is looked at for request hashes and prompts.
HEAD_BYTES = 1 << 20


def read_ledger(path: str, selection: Selection, make_sink: Callable[[], Analytics],
                jobs: int | None) -> tuple[Sink, LedgerStats]:
    """The ledger file (or stream) at `path` read into a fresh sink: in parallel where
    `jobs` allows and its stretches merge exactly, else in one process."""
    return read_exactly(path, selection, make_sink,
                        jobs if jobs != 1 and _stretches_may_merge(path) else 1)


def _stretches_may_merge(path: str) -> bool:
    """A regular file (a stream cannot be read twice) whose first HEAD_BYTES carry no
    request hash (the response cache curve of a ledger of repeats does not merge), and
    not a new prompt on most lines (each stretch would hold as many prompts' state as
    it has lines: handing it over and merging it costs more than reading it apart
    saves, 13.0 s against 9.7 s for 300,000 distinct prompts)."""
    ledger = Path(path)
    if path == "-" or not ledger.is_file():
        return False
    try:
        with ledger.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return False  # the reader says why
    prompts = PROMPT.findall(head)
    return HASHED.search(head) is None and len(set(prompts)) * 2 <= max(
        len(prompts), head.count(b"\n"))


def _text(sections: dict[str, object], trend: list[dict[str, object]],
          causes: MissCauses | None) -> list[str]:
    lines: list[str] = []
    breakdown, left_out = sections["breakdown"], sections.get("breakdown_left_out", {})
    assert isinstance(breakdown, dict) and isinstance(left_out, dict)
    for dimension, rows in breakdown.items():
        lines.append(f"{'by ' + dimension + ':':<32} {'requests':>9}  {'hit rate':>8}  "
                     f"{'token ratio':>11}")
        for name, row in list(rows.items())[:TOP_ROWS]:
            hit = row["prompt_cache_hit_rate"]
            ratio = row["cached_token_ratio"]
            lines.append(f"  {name[:30]:<30} {row['requests']:>9,}  "
                         f"{'n/a' if hit is None else f'{hit:.1%}':>8}  "
                         f"{'n/a' if ratio is None else f'{ratio:.1%}':>11}")
        more = len(rows) - TOP_ROWS + left_out.get(dimension, 0)
        if more > 0:
            lines.append(f"  … {more:,} more (the {BREAKDOWN_SHOWN} largest in --format json)")
    if trend:
        rates = [row["prompt_cache_hit_rate"] for row in trend]
        lines.append(f"daily prompt cache hit rate {trend[0]['date']} → {trend[-1]['date']}: "
                     f"{sparkline(rates)}")  # type: ignore[arg-type]
    spend = sections["duplicate_spend"]
    assert isinstance(spend, dict)
    if spend is NO_HASHES:
        lines.append(f"duplicate spend and runtime prefix drift: not available "
                     f"({NO_HASHES['reason']})")
    else:
        lines.append(f"duplicate spend (same request within {spend['ttl_seconds']} s, no "
                     f"cache hit): {spend['requests']:,} requests, {spend['input_tokens']:,} "
                     f"input tokens, ${spend['cost_usd']:,.2f}")
    if causes is not None and causes.overall:
        lines.append("why the cache missed (eligible misses by cause, what they paid for):")
        lines.extend(f"  {line}" for line in top_causes(causes))
    money = sections["savings"]
    assert isinstance(money, dict)
    unpriced, more = money["unpriced_models"], money.get("unpriced_models_left_out", 0)
    assert isinstance(unpriced, list) and isinstance(more, int)
    named = ", ".join(unpriced) + (f" and {more:,} more" if more else "")
    lines.append(f"estimated savings from prompt caching: ${money['total_saved_usd']:,.2f}"
                 + (f" (no price for: {named})" if unpriced else ""))
    return lines


def configured(tuning: dict[str, object], settings: Settings) -> dict[str, object]:
    """The tuning sections with the values in use beside what the evidence recommends:
    the response cache TTL from the settings, the semantic threshold from the backlog
    config where its semantic cache is on (null where none is known; `policy --ledger`
    holds the configs to the evidence)."""
    response, semantic = tuning["response_ttl_curve"], tuning["semantic_threshold_curve"]
    assert isinstance(response, dict) and isinstance(semantic, dict)
    response["configured_ttl_s"] = settings.response_cache_ttl
    semantic["configured"] = _semantic_threshold(Path(settings.config))
    return tuning


def _semantic_threshold(config: Path) -> float | None:
    if not config.is_file():
        return None
    # Imported only where a config is there to read: YAML and the policy load slowly.
    from cache_gate.policy.backlog_config import read_backlog_policy
    from cache_gate.policy.loading import load_config

    try:
        policy = read_backlog_policy(load_config(config, config.as_posix(), "backlog config"))
    except InputError:
        return None
    enabled, threshold = policy.semantic_cache_enabled, policy.semantic_threshold
    if enabled is None or not enabled.value or threshold is None:
        return None
    return float(threshold.value)


def declared_ttls(manifest: Path) -> dict[str, str]:
    """The TTL the prompt manifest gives each prompt's cache breakpoints, where they all
    agree ("5m" or "1h"): CG208 holds that to the ledger's evidence. A manifest that is
    missing or unreadable declares nothing (`lint` says why)."""
    if not manifest.is_file():
        return {}
    # Imported only where a manifest is there to read.
    from cache_gate.manifest.loader import load_manifest

    try:
        loaded = load_manifest(manifest, manifest.as_posix())
    except InputError:
        return {}
    declared = {}
    for spec in loaded.prompts:
        ttls = {block.cache_control for block in spec.blocks if block.cache_control}
        if len(ttls) == 1:
            declared[spec.id] = ttls.pop()
    return declared


def tuning_text(sections: dict[str, object]) -> list[str]:
    """The tuning the evidence recommends, a line each (the JSON holds the curves)."""
    lines: list[str] = []
    advice = sections.get("ttl_advice")
    if isinstance(advice, list) and advice:
        lines.append("prompt cache TTL, simulated per lineage from its own request times:")
        for row in advice[:TOP_ADVICE]:
            saving = row["saving_usd_per_day"]
            money = "unpriced" if saving is None else f"saves ${saving:,.2f}/day"
            unpaid = row["unpaid_1h_writes"]
            lines.append(f"  {row['lineage']}: {row['requests']:,} requests, best {row['best']} "
                         f"({money}; configured {row['configured']})"
                         + (f", {unpaid:,} 1-hour writes never paid back" if unpaid else ""))
    response = sections.get("response_ttl_curve")
    if isinstance(response, dict) and response.get("recommended_ttl_s") is not None:
        lines.append(f"response cache TTL the repeats recommend: "
                     f"{response['recommended_ttl_s']:,} s")
    semantic = sections.get("semantic_threshold_curve")
    if isinstance(semantic, dict) and semantic.get("recommended") is not None:
        lines.append(f"semantic cache threshold the scores recommend: {semantic['recommended']}")
    return lines


def run(settings: Settings, params: Mapping[str, Any]) -> Result:
    """`cache-gate report`: the breakdowns; never a failing exit code."""
    return run_report(ledger_settings(settings, params), settings)
