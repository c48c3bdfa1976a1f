"""`--format html`: the report for people, one self-contained file.

Drawn from the JSON report's document (`json_report.document`), so that every chart
shows what `--format json` holds: the KPI verdict; the hit rate and cached-token ratio
over time against their targets; the miss causes over time and by workflow and prompt;
the gaps between each top lineage's requests against the 5-minute and 1-hour lines,
with its TTL advice; the response-TTL and semantic-threshold curves with the configured
and recommended values marked; the breakdowns; savings and duplicate spend; the
findings. A section whose data the command did not compute (`kpi` has no trend) is
left out.

Self-contained and inert: no script at all, styles inline, no external font, image or
link target, and a Content-Security-Policy that forbids loading anything. Light and
dark schemes follow the reader's system. Each chart (`reporters.charts`) has a text
alternative and its data as a table beside it. Every text from the input is escaped;
names longer than NAME_LIMIT characters are cut, and every list is bounded (periods,
rows, findings), so the file stays small whatever the ledger: about 100 KB for a year.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

from cache_gate import __version__
from cache_gate.config import KPI_LABELS, target_text
from cache_gate.findings import Result, cut
from cache_gate.reporters import RenderContext, charts
from cache_gate.reporters.charts import Level, Marker, Series
from cache_gate.reporters.html_style import STYLE
from cache_gate.reporters.json_report import document, strict
from cache_gate.reporters.locations import repository_path
from cache_gate.reporters.periods import label, start_of, unit_for

NAME_LIMIT = 200
ROWS = 20
FINDINGS = 200
CAUSE_LAYERS = 7
LINEAGE_CHARTS = 3
OTHER = "other"

Table = tuple[Sequence[str], Iterable[Sequence[object]]]


def short(name: object) -> str:
    text = str(name)
    return text if len(text) <= NAME_LIMIT else text[:NAME_LIMIT - 1] + "…"


def _pct(value: object) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{value:.1%}"


def _usd(value: object) -> str:
    return "n/a" if not isinstance(value, int | float) else f"${value:,.2f}"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return escape(short("—" if value is None else value))


def table(caption: str, head: Sequence[str], rows: Iterable[Sequence[object]],
          left_out: int = 0) -> str:
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                   for row in rows)
    more = f"<p class=note>…and {left_out:,} more (see --format json).</p>" if left_out else ""
    return (f"<table><caption>{escape(caption)}</caption><thead><tr>"
            + "".join(f"<th scope=col>{escape(h)}</th>" for h in head)
            + f"</tr></thead><tbody>{body}</tbody></table>{more}")


def figure(svg: str, caption: str, data: Table, legend: Sequence[Series] = ()) -> str:
    """A chart, its legend (where it has several series), its caption, and its data as
    a table (the chart's text alternative)."""
    keys = "".join(f'<li><span class="swatch s{i % charts.PALETTE}"></span>'
                   f"{escape(short(s.label))}</li>" for i, s in enumerate(legend))
    return (f"<figure>{svg}" + (f"<ul class=legend>{keys}</ul>" if len(legend) > 1 else "")
            + f"<figcaption>{escape(caption)}</figcaption>"
            f"<details><summary>Data</summary>{table(caption, *data)}</details></figure>")


def section(ident: str, title: str, *parts: str) -> str:
    return f'<section id="{ident}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


# --- periods ---------------------------------------------------------------------------

def periods(dates: Iterable[str]) -> tuple[str, Callable[[str], str], Callable[[str], str]]:
    """(unit, a day's period key, a period key's label) for the dates a chart covers."""
    days = [dt.date.fromisoformat(day) for day in dates]
    unit = unit_for(days)
    years = len({day.year for day in days})

    def key(day: str) -> str:
        return start_of(dt.date.fromisoformat(day), unit).isoformat()

    def name(period: str) -> str:
        return label(dt.date.fromisoformat(period), unit, years)

    return unit, key, name


def _per_period(rows: Iterable[tuple[str, dict[str, float]]],
                key: Callable[[str], str]) -> dict[str, dict[str, float]]:
    sums: dict[str, dict[str, float]] = {}
    for day, counts in rows:
        bucket = sums.setdefault(key(day), {})
        for name, value in counts.items():
            bucket[name] = bucket.get(name, 0) + value
    return dict(sorted(sums.items()))


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


# --- sections --------------------------------------------------------------------------

def _verdict(doc: dict[str, Any]) -> str:
    ledger = doc.get("ledger") or {}
    verdict = "passed" if doc["passed"] else "failed"
    facts = [f"cache-gate {escape(doc['command'])} {escape(doc['version'])}: "
             f"<strong class={verdict}>{verdict}</strong> (exit code {doc['exit_code']})"]
    if ledger:
        window = ledger.get("window") or {}
        facts.append(f"ledger {escape(short(ledger.get('path')))}: "
                     f"{ledger.get('records', 0):,} records, {ledger.get('bad_lines', 0):,} "
                     f"bad lines; window {escape(str(window.get('since') or 'start'))} → "
                     f"{escape(str(window.get('until') or 'end'))}")
        late = (ledger.get("approximate") or {}).get("late_repeats_with_more_tokens")
        if late:
            facts.append(f"<strong>approximate</strong>: {late:,} repeated requests reported "
                         "more tokens after the reader had counted them")
    if doc.get("cache_hit_rate_pct") is not None:
        facts.append(f"prompt cache hit rate over every eligible request: "
                     f"{doc['cache_hit_rate_pct']}%")
    return "".join(f"<p>{fact}</p>" for fact in facts)


def _kpis(doc: dict[str, Any]) -> str:
    rows = []
    for name, row in doc.get("kpis", {}).items():
        rows.append((KPI_LABELS.get(name, name) + (f" ({row['scope']})" if row.get("scope")
                                                    else ""),
                     _pct(row["value"]), target_text(name, row["target"]),
                     f"{row['numerator']:,} / {row['denominator']:,}", row["status"]))
    for workflow, kpis in doc.get("workflow_kpis", {}).items():
        for name, row in kpis.items():
            rows.append((f"{KPI_LABELS.get(name, name)} (workflow {short(workflow)})",
                         _pct(row["value"]), target_text(name, row["target"]),
                         f"{row['numerator']:,} / {row['denominator']:,}", row["status"]))
    if not rows:
        return ""
    return section("kpis", "KPIs", table("Each KPI against its target",
                                         ("KPI", "value", "target", "numerator / denominator",
                                          "status"), rows))


def _trend(doc: dict[str, Any]) -> str:
    trend = doc.get("trend") or []
    if not trend:
        return ""
    unit, key, name = periods(row["date"] for row in trend)
    sums = _per_period(((row["date"], {
        "eligible": row["eligible"], "hits": row["prompt_cache_hits"],
        "read": row.get("cache_read_tokens", 0), "input": row.get("input_tokens", 0)})
        for row in trend), key)
    keys = list(sums)
    hit = [_ratio(s["hits"], s["eligible"]) for s in sums.values()]
    ratio = [_ratio(s["read"], s["input"]) for s in sums.values()]
    targets = doc.get("kpis", {})
    levels = [Level(targets[kpi]["target"], f"{KPI_LABELS[kpi]} target "
                    f"{target_text(kpi, targets[kpi]['target'])}")
              for kpi in ("prompt_cache_hit_rate", "cached_token_ratio")
              if isinstance(targets.get(kpi, {}).get("target"), int | float)]
    series = [Series("prompt_cache_hit_rate", "prompt cache hit rate", hit),
              Series("cached_token_ratio", "cached-token ratio", ratio)]
    svg = charts.lines("chart-trend", f"Prompt cache hit rate and cached-token ratio by {unit}",
                       f"{len(keys)} {unit}s from {keys[0]}; targets drawn as lines.",
                       list(range(len(keys))), [name(k) for k in keys], series,
                       y_top=1.0, levels=levels, x_data=keys)
    data = (("period from", "eligible", "hits", "hit rate", "cached tokens", "input tokens",
             "cached-token ratio"),
            [(k, int(s["eligible"]), int(s["hits"]), _pct(h), int(s["read"]),
              int(s["input"]), _pct(r)) for (k, s), h, r in zip(sums.items(), hit, ratio,
                                                                  strict=True)])
    return section("trend", "Trend", figure(
        svg, f"Prompt cache hit rate and cached-token ratio per {unit}, against targets.",
        data, series))


def _layers(tables: Iterable[dict[str, dict[str, Any]]]) -> list[str]:
    """The causes drawn as layers, most requests first; the rest are summed as OTHER."""
    totals: dict[str, int] = {}
    for causes in tables:
        for cause, cost in causes.items():
            totals[cause] = totals.get(cause, 0) + cost["requests"]
    ordered = sorted(totals, key=lambda cause: (-totals[cause], cause))
    return ordered if len(ordered) <= CAUSE_LAYERS else [*ordered[:CAUSE_LAYERS - 1], OTHER]


def _layer_values(groups: Sequence[dict[str, dict[str, Any]]], layers: list[str]) -> list[Series]:
    named = set(layers) - {OTHER}
    series = []
    for layer in layers:
        if layer == OTHER:
            values = [float(sum(c["requests"] for cause, c in g.items() if cause not in named))
                      for g in groups]
        else:
            values = [float(g[layer]["requests"]) if layer in g else 0.0 for g in groups]
        series.append(Series(layer, layer, values))
    return series


def _causes(doc: dict[str, Any]) -> str:
    causes = doc.get("miss_causes")
    if not causes or not causes.get("overall"):
        return ""
    parts = [table("Eligible misses by cause, and the input they paid for",
                   ("cause", "misses", "input tokens paid", "cost"),
                   [(cause, c["requests"], c["input_tokens"], _usd(c["cost_usd"]))
                    for cause, c in causes["overall"].items()])]
    by_day = causes.get("by_day") or {}
    if by_day:
        unit, key, name = periods(by_day)
        sums = _per_period(((day, {cause: c["requests"] for cause, c in table_.items()})
                            for day, table_ in by_day.items()), key)
        groups = [{cause: {"requests": n} for cause, n in s.items()} for s in sums.values()]
        layers = _layers(groups)
        series = _layer_values(groups, layers)
        svg = charts.bars("chart-causes-time", f"Misses by cause, by {unit}",
                          f"Stacked misses per {unit}, one layer per cause.",
                          [name(k) for k in sums], series, x_data=list(sums))
        rows = [(k, *(int(s.values[i] or 0) for s in series)) for i, k in enumerate(sums)]
        parts.append(figure(svg, f"Eligible misses per {unit}, stacked by cause.",
                            (("period from", *layers), rows), series))
    for group, title in (("by_workflow", "workflow"), ("by_prompt", "prompt")):
        named = causes.get(group) or {}
        if not named:
            continue
        names = list(named)[:10]
        groups = [named[n] for n in names]
        layers = _layers(groups)
        series = _layer_values(groups, layers)
        svg = charts.hbars(f"chart-causes-{title}", f"Misses by cause, by {title}",
                           f"Stacked misses of the {len(names)} {title}s with the most.",
                           [short(n) for n in names], series)
        rows = [(n, *(int(s.values[i] or 0) for s in series)) for i, n in enumerate(names)]
        parts.append(figure(svg, f"Eligible misses by {title}, stacked by cause.",
                            ((title, *layers), rows), series))
    return section("causes", "Why the cache missed", *parts)


def _gaps(doc: dict[str, Any]) -> str:
    advice = doc.get("ttl_advice") or []
    bounds = doc.get("ttl_gap_bins_s") or []
    if not advice:
        return ""
    labels = [f"≤ {_duration(b)}" for b in bounds] + [f"> {_duration(bounds[-1])}"] \
        if bounds else []
    parts = []
    for rank, row in enumerate(advice[:LINEAGE_CHARTS]):
        gaps = row.get("gaps")
        if not gaps or len(gaps) != len(labels):
            continue
        markers = [Marker(bounds.index(at) + 1.0, line, key, at)
                   for at, line, key in ((300, "5 min", "ttl-5m"), (3600, "1 hour", "ttl-1h"))
                   if at in bounds]
        svg = charts.bars(f"chart-gaps-{rank}", f"Gaps between requests: {short(row['lineage'])}",
                          "Requests by the time since the lineage's previous one; the 5-minute"
                          " and 1-hour lines mark what each TTL spans.", labels,
                          [Series("gaps", "requests", [float(g) for g in gaps])],
                          markers=markers, x_data=[*bounds, None])
        saving = row["saving_usd_per_day"]
        caption = (f"{short(row['lineage'])}: {row['requests']:,} requests; best TTL "
                   f"{row['best']} (configured {row.get('configured', '?')}), "
                   + ("unpriced" if saving is None else f"saves {_usd(saving)} a day"))
        parts.append(figure(svg, caption, (("gap", "requests"), list(zip(labels, gaps,
                                                                          strict=True)))))
    parts.append(table("TTL advice per lineage", ("lineage", "requests", "cost with 5 min",
                                                   "cost with 1 hour", "best", "configured",
                                                   "saving a day", "unpaid 1-hour writes"),
                       [(r["lineage"], r["requests"], _usd(r["cost_5m_usd"]),
                         _usd(r["cost_1h_usd"]), r["best"], r.get("configured"),
                         _usd(r["saving_usd_per_day"]), r["unpaid_1h_writes"])
                        for r in advice], doc.get("ttl_advice_left_out", 0)))
    return section("ttl", "Prompt cache TTL", *parts)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _curves(doc: dict[str, Any]) -> str:
    parts = []
    response = doc.get("response_ttl_curve") or {}
    points = response.get("points") or []
    if points:
        ttls = [p["ttl_s"] for p in points]
        markers = [Marker(math.log10(value), f"{what} {_duration(value)}", key, value)
                   for key, what, value in (("configured", "configured",
                                             response.get("configured_ttl_s")),
                                            ("recommended", "recommended",
                                             response.get("recommended_ttl_s")))
                   if isinstance(value, int | float) and value > 0]
        svg = charts.lines("chart-response-ttl", "Response cache hits by TTL",
                           f"Repeats that would hit at each TTL, over "
                           f"{response.get('requests', 0):,} requests with a request hash.",
                           [math.log10(t) for t in ttls],
                           [_duration(t) for t in ttls],
                           [Series("hits", "hits", [float(p["hits"]) for p in points])],
                           y_format=charts.number, markers=markers, x_data=ttls)
        parts.append(figure(svg, "Response cache: hits, tokens and cost saved by TTL.",
                            (("TTL (s)", "hits", "tokens saved", "cost saved"),
                             [(p["ttl_s"], p["hits"], p["tokens_saved"],
                               _usd(p["cost_saved_usd"])) for p in points])))
    semantic = doc.get("semantic_threshold_curve") or {}
    points = semantic.get("points") or []
    if points and semantic.get("requests"):
        markers = [Marker(value, f"{what} {value:g}", key, value)
                   for key, what, value in (("configured", "configured",
                                             semantic.get("configured")),
                                            ("recommended", "recommended",
                                             semantic.get("recommended")))
                   if isinstance(value, int | float)]
        series = [Series("hits", "hits", [float(p["hits"]) for p in points]),
                  Series("known_useless", "known not useful",
                         [float(p["known_useless"]) for p in points])]
        svg = charts.lines("chart-semantic", "Semantic cache hits by threshold",
                           "Requests that would hit at each similarity threshold, and those "
                           "known not useful.", [p["threshold"] for p in points],
                           [f"{p['threshold']:.2f}" for p in points], series,
                           y_format=charts.number, markers=markers,
                           x_data=[p["threshold"] for p in points])
        parts.append(figure(svg, "Semantic cache: hits and known-useless hits by threshold.",
                            (("threshold", "hits", "known not useful"),
                             [(p["threshold"], p["hits"], p["known_useless"])
                              for p in points]), series))
    return section("curves", "Response and semantic cache tuning", *parts) if parts else ""


def _breakdowns(doc: dict[str, Any]) -> str:
    breakdown = doc.get("breakdown") or {}
    if not breakdown:
        return ""
    parts = []
    workflows = breakdown.get("workflow") or {}
    target = doc.get("kpis", {}).get("prompt_cache_hit_rate", {}).get("target")
    if workflows:
        names = list(workflows)[:10]
        svg = charts.hbars("chart-workflows", "Prompt cache hit rate by workflow",
                           "The workflows with the most requests; the target as a line.",
                           [short(n) for n in names],
                           [Series("prompt_cache_hit_rate", "hit rate",
                                   [workflows[n]["prompt_cache_hit_rate"] for n in names])],
                           x_top=1.0, x_format=charts.percent,
                           levels=[Level(target, f"target {target:.0%}")]
                           if isinstance(target, int | float) else [])
        parts.append(figure(svg, "Prompt cache hit rate by workflow.",
                            (("workflow", "hit rate"),
                             [(n, _pct(workflows[n]["prompt_cache_hit_rate"]))
                              for n in names])))
    cut = doc.get("breakdown_left_out") or {}
    for dimension, rows in breakdown.items():
        names = list(rows)
        parts.append(table(f"By {dimension}", (dimension, "requests", "eligible", "hit rate",
                                               "cached-token ratio", "response useful",
                                               "semantic useful"),
                           [(n, r["requests"], r["eligible"], _pct(r["prompt_cache_hit_rate"]),
                             _pct(r["cached_token_ratio"]),
                             _pct(r["response_cache_useful_hit_rate"]),
                             _pct(r["semantic_cache_useful_hit_rate"]))
                            for n, r in ((n, rows[n]) for n in names[:ROWS])],
                           max(0, len(names) - ROWS) + cut.get(dimension, 0)))
    return section("breakdowns", "Breakdowns", *parts)


def _money(doc: dict[str, Any]) -> str:
    money, spend = doc.get("savings"), doc.get("duplicate_spend")
    if not money and not spend:
        return ""
    parts = []
    if money:
        parts.append(f"<p>Estimated savings from prompt caching: "
                     f"<strong>{_usd(money['total_saved_usd'])}</strong></p>")
        parts.append(table("Savings by model", ("model", "cache read tokens",
                                                 "5-min writes", "1-hour writes", "saved"),
                           [(m, r["cache_read_tokens"], r["cache_write_5m_tokens"],
                             r["cache_write_1h_tokens"], _usd(r["saved_usd"]))
                            for m, r in list(money["by_model"].items())[:ROWS]],
                           max(0, len(money["by_model"]) - ROWS)
                           + money.get("by_model_left_out", 0)))
    if spend:
        if spend.get("available") is False:
            parts.append(f"<p>Duplicate spend: not available ({escape(spend['reason'])}).</p>")
        else:
            parts.append(f"<p>Duplicate spend (the same request within {spend['ttl_seconds']:,} s"
                         f" that no cache served): <strong>{spend['requests']:,}</strong> "
                         f"requests, {spend['input_tokens']:,} input tokens, "
                         f"<strong>{_usd(spend['cost_usd'])}</strong></p>")
    return section("money", "Savings and duplicate spend", *parts)


def _findings(result: Result) -> str:
    shown = cut(result.findings, FINDINGS)
    if not shown.shown:
        return section("findings", "Findings", "<p>No findings.</p>")
    rows = []
    for finding in shown.shown:
        where = repository_path(finding.path) or ""
        if finding.line:
            where += f":{finding.line}"
        rows.append((finding.severity.value, f"{finding.rule} {finding.name}", where,
                     (f"[prompt {finding.prompt_id}] " if finding.prompt_id else "")
                     + finding.message + (f" Fix: {finding.hint}" if finding.hint else "")))
    return section("findings", "Findings", table(
        "Findings, errors first", ("severity", "rule", "where", "message"), rows,
        shown.left_out_total))


def render(result: Result, context: RenderContext) -> str:
    doc = strict(document(result, context))
    assert isinstance(doc, dict)
    title = f"cache-gate {doc['command']}"
    body = [_verdict(doc), _kpis(doc), _trend(doc), _causes(doc), _gaps(doc), _curves(doc),
            _breakdowns(doc), _money(doc), _findings(result)]
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'\">"
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            '<meta name="color-scheme" content="light dark">'
            f"<meta name=generator content=\"cache-gate {escape(__version__)}\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body><main>"
            f"<h1>{escape(title)}</h1>\n" + "\n".join(part for part in body if part)
            + "\n</main></body></html>\n")
