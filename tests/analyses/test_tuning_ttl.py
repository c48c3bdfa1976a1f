"""`ttl_advice` and CG208: held against a plain reference written the obvious way
(group by lineage, replay each TTL, look ahead for the payback of each 1-hour write),
on random sequences and on cases by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate import rules
from cache_gate.analyses import tuning_ttl
from cache_gate.analyses.lineage import lineage_of
from cache_gate.analyses.tuning_ttl import ADVICE_SHOWN, GAP_BINS_S, TtlAdvice, ttl_findings
from cache_gate.findings import Severity
from cache_gate.ledger.record import Record
from cache_gate.prices import load_prices

PRICES = load_prices()
SONNET = "claude-sonnet-4-6"
UNPRICED = "no-such-model"
START = 1_795_000_000.0


# --- the reference -------------------------------------------------------------


@dataclass
class Row:
    requests: int
    cost_5m_usd: float | None
    cost_1h_usd: float | None
    best: str
    saving_usd_per_day: float | None
    unpaid_1h_writes: int
    configured: str
    gaps: tuple[int, ...]


# The histogram's bins by hand: a gap belongs to the first bin whose upper bound it does
# not exceed, and the last bin takes every longer gap.
UPPER_BOUNDS = (60, 300, 600, 1800, 3600, 7200, 21600, 86400)


def histogram(requests: list[Record]) -> tuple[int, ...]:
    counts = [0] * (len(UPPER_BOUNDS) + 1)
    for before, after in pairwise(requests):
        assert before.time is not None and after.time is not None
        gap = abs(after.time - before.time)
        bin_ = next((i for i, bound in enumerate(UPPER_BOUNDS) if gap <= bound),
                    len(UPPER_BOUNDS))
        counts[bin_] += 1
    return tuple(counts)


def reference(records: list[Record]) -> dict[str, Row]:
    """The TTL advice, the most obvious way."""
    times = [r.time for r in records if r.time is not None]
    newest = max(times) if times else None
    days = max(1.0, (max(times) - min(times)) / 86400) if times else 1.0
    lineages: dict[str, list[Record]] = {}
    for r in records:
        if (r.time is None or not r.eligible or r.cache_read is None or r.cache_write is None
                or r.cache_read + r.cache_write == 0):
            continue
        lineages.setdefault(lineage_of(r), []).append(r)
    rows = {}
    for key, requests in lineages.items():
        usd: dict[str, float | None] = {}
        units: dict[str, float] = {}
        for name, ttl, write_price in (("5m", 300, 1.25), ("1h", 3600, 2.0)):
            total_usd: float | None = 0.0
            total_units = 0.0
            previous: float | None = None
            for r in requests:
                assert r.time is not None and r.cache_read is not None
                assert r.cache_write is not None
                within = previous is not None and abs(r.time - previous) <= ttl
                multiplier = 0.1 if within else write_price
                previous = r.time
                tokens = r.cache_read + r.cache_write
                total_units += tokens * multiplier
                price = PRICES.price(r.model)
                if price is None:
                    total_usd = None
                elif total_usd is not None:
                    total_usd += tokens * multiplier * price / 1e6
            usd[name], units[name] = total_usd, total_units
        if usd["5m"] is not None and usd["1h"] is not None:
            best = "1h" if usd["1h"] < usd["5m"] else "5m"
            saving: float | None = abs(usd["5m"] - usd["1h"]) / days
        else:
            best = "1h" if units["1h"] < units["5m"] else "5m"
            saving = None
        writes = [r for r in requests if (r.cache_write or 0) > 0]
        one_hour = [r for r in writes if (r.cache_write_1h or 0) > 0]
        rows[key] = Row(len(requests), usd["5m"], usd["1h"], best, saving,
                        unpaid(requests, newest), "1h" if len(one_hour) > len(writes) / 2
                        else "5m", histogram(requests))
    return rows


def unpaid(requests: list[Record], newest: float | None) -> int:
    """1-hour writes that no read came back for after 5 minutes and within the hour,
    before the next write; one still alive at the end of the ledger is not counted."""
    count = 0
    for i, write in enumerate(requests):
        if not ((write.cache_write or 0) > 0 and (write.cache_write_1h or 0) > 0):
            continue
        paid = closed = False
        for j in range(i + 1, len(requests)):
            later, before = requests[j], requests[j - 1]
            assert later.time is not None and before.time is not None
            gap = abs(later.time - before.time)
            if (later.cache_read or 0) > 0 and 300 < gap <= 3600:
                paid = True
                break
            if (later.cache_write or 0) > 0:
                closed = True
                break
        last = requests[-1].time
        assert last is not None and newest is not None
        if not paid and (closed or newest - last > 3600):
            count += 1
    return count


def analysed(records: list[Record]) -> TtlAdvice:
    advice = TtlAdvice(PRICES)
    advice.add(records)
    return advice


def rows_of(advice: TtlAdvice) -> dict[str, Row]:
    return {row.lineage: Row(row.requests, row.cost_5m_usd, row.cost_1h_usd, row.best,
                             row.saving_usd_per_day, row.unpaid_1h_writes, row.configured,
                             row.gaps)
            for row in advice.advice()}


def assert_same(got: dict[str, Row], expected: dict[str, Row]) -> None:
    assert got.keys() == expected.keys()
    for key, row in expected.items():
        mine = got[key]
        for name in ("cost_5m_usd", "cost_1h_usd", "saving_usd_per_day"):
            value = getattr(row, name)
            assert getattr(mine, name) == (None if value is None else pytest.approx(value)), \
                (key, name)
        assert (mine.requests, mine.best, mine.unpaid_1h_writes, mine.configured,
                mine.gaps) == (row.requests, row.best, row.unpaid_1h_writes,
                               row.configured, row.gaps), key


# --- random sequences ------------------------------------------------------------

# Gaps at and around the two TTLs, often: an off-by-one at a boundary must show.
# Whole seconds keep the sums exact: a gap of 300 s is exactly 300 s apart.
BOUNDARIES = st.sampled_from([0, 1, 120, 299, 300, 301, 1800, 3599, 3600, 3601, 7200, 86400])
GAPS = st.one_of(BOUNDARIES, BOUNDARIES, st.integers(0, 10_000)).map(float)


@st.composite
def request(draw: st.DrawFn, moment: float | None) -> Record:
    # Mostly requests that count, in few lineages, so that lineages have histories.
    read = draw(st.sampled_from([None, 0, 0, 500, 500, 2000]))
    write = draw(st.sampled_from([None, 0, 1000, 1000, 3000]))
    one_hour = draw(st.sampled_from([None, 0, write, write])) if write else None
    fields: dict[str, Any] = {
        "time": moment,
        "prompt_id": draw(st.sampled_from([None, "p1", "p1", "p1", "p1", "p2"])),
        "session": draw(st.sampled_from([None, None, "s1"])),
        "workflow": draw(st.sampled_from([None, "impl", "impl", "review"])),
        "model": draw(st.sampled_from([SONNET, SONNET, SONNET, "claude-haiku-4-5",
                                       UNPRICED, None])),
        "uncached_input": 100, "cache_read": read, "cache_write": write,
        "cache_write_1h": one_hour,
        "prompt_cache_hit": draw(st.sampled_from([None, True, False, bool(read),
                                                  bool(read)])),
        "response_cache": draw(st.sampled_from([None, None, None, None, "miss", "hit"])),
    }
    return Record("backlog", **fields)


@st.composite
def ledgers(draw: st.DrawFn, ordered: bool) -> list[Record]:
    size = draw(st.integers(0, 60))
    moment = START
    records = []
    for _ in range(size):
        if ordered:
            moment += draw(GAPS)
            at: float | None = moment
        else:
            at = draw(st.one_of(st.none(), st.integers(0, 8000).map(lambda t: START + t),
                                st.floats(START, START + 20_000)))
        records.append(draw(request(at)))
    return records


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=ledgers(ordered=True))
def test_agrees_with_the_reference_in_time_order(records: list[Record]) -> None:
    assert_same(rows_of(analysed(records)), reference(records))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=ledgers(ordered=False), cut=st.integers(0, 40))
def test_agrees_with_the_reference_out_of_order_and_in_batches(records: list[Record],
                                                               cut: int) -> None:
    advice = TtlAdvice(PRICES)
    advice.add(records[:cut])
    advice.add(records[cut:])
    assert_same(rows_of(advice), reference(records))


# --- cases by hand ---------------------------------------------------------------


def req(at: float, read: int = 0, write: int = 0, one_hour: int = 0, *,
        model: str = SONNET, prompt: str = "p") -> Record:
    return Record("anthropic", time=START + at, prompt_id=prompt, model=model,
                  uncached_input=10, cache_read=read, cache_write=write,
                  cache_write_1h=one_hour, prompt_cache_hit=read > 0)


def only_row(records: list[Record]) -> Any:
    [row] = analysed(records).advice()
    return row


def usd(tokens: float) -> float:
    price = PRICES.price(SONNET)
    assert price is not None
    return tokens * price / 1e6


def test_a_read_refreshes_the_entry() -> None:
    # 8 minutes after the write, but 4 after the read: still within 5 minutes.
    row = only_row([req(0, write=1000), req(240, read=1000), req(480, read=1000)])
    assert row.cost_5m_usd == pytest.approx(usd(1000 * (1.25 + 0.1 + 0.1)))
    assert row.cost_1h_usd == pytest.approx(usd(1000 * (2 + 0.1 + 0.1)))
    assert row.best == "5m"


def test_a_one_hour_write_followed_by_a_30_minute_gap_pays_back() -> None:
    records = [req(0, write=1000, one_hour=1000), req(1800, read=1000),
               req(9000, prompt="other", write=10)]  # the ledger goes on for hours
    row = next(r for r in analysed(records).advice() if r.lineage == "prompt:p")
    assert row.unpaid_1h_writes == 0
    assert row.best == "1h"
    assert row.cost_5m_usd == pytest.approx(usd(1000 * 2.5))
    assert row.cost_1h_usd == pytest.approx(usd(1000 * 2.1))


def test_a_one_hour_write_followed_by_2_minute_gaps_never_pays_back() -> None:
    records = [req(0, write=1000, one_hour=1000), req(120, read=1000), req(240, read=1000),
               req(240 + 7200, write=1000, one_hour=1000)]
    row = only_row(records)
    # The first write was closed by the next one unpaid; the last is still alive.
    assert row.unpaid_1h_writes == 1
    assert (row.best, row.configured) == ("5m", "1h")
    [finding] = ttl_findings(analysed(records), "ledger.jsonl")
    assert (finding.rule, finding.name, finding.severity) == (
        "CG208", "ttl-mismatch", Severity.WARNING)
    assert finding.prompt_id == "p"
    assert "writes 1-hour cache entries (2 of 2 writes 1-hour)" in finding.message
    assert 'set its cache_control to "5m"' in finding.message
    assert "5-minute entries would cost" in finding.message


def test_an_unpaid_write_is_counted_once_the_ledger_is_an_hour_past_it() -> None:
    alive = [req(0, write=1000, one_hour=1000), req(120, read=1000)]
    assert only_row(alive).unpaid_1h_writes == 0
    past = [*alive, req(120 + 3601, prompt="other", write=10)]
    row = next(r for r in analysed(past).advice() if r.lineage == "prompt:p")
    assert row.unpaid_1h_writes == 1


def test_a_read_after_more_than_an_hour_does_not_pay_back() -> None:
    records = [req(0, write=1000, one_hour=1000), req(4000, read=1000),
               req(4000 + 3601, prompt="other", write=10)]
    row = next(r for r in analysed(records).advice() if r.lineage == "prompt:p")
    assert row.unpaid_1h_writes == 1


def test_an_unknown_price_is_unknown_cost_never_zero() -> None:
    row = only_row([req(0, write=1000, model=UNPRICED), req(1800, read=1000, model=UNPRICED)])
    shown = row.to_json()
    assert shown["cost_5m_usd"] is None and shown["cost_1h_usd"] is None
    assert shown["saving_usd_per_day"] is None
    assert shown["unpriced_requests"] == 2
    # Still decided, on token equivalents: 2x + 0.1x against 1.25x twice.
    assert shown["best"] == "1h"


def test_one_unpriced_request_makes_the_lineage_unpriced() -> None:
    row = only_row([req(0, write=1000), req(60, read=1000, model=UNPRICED)])
    assert row.cost_5m_usd is None and row.unpriced_requests == 1


def test_saving_is_per_day_of_ledger_and_never_extrapolated_below_a_day() -> None:
    short = [req(0, write=1000), req(1800, read=1000)]
    row = only_row(short)
    assert row.saving_usd_per_day == pytest.approx(usd(1000 * (2.5 - 2.1)))
    long = [*short, req(4 * 86400, prompt="other", write=10)]
    row = next(r for r in analysed(long).advice() if r.lineage == "prompt:p")
    assert row.saving_usd_per_day == pytest.approx(usd(1000 * 0.4) / 4)


def test_requests_that_cannot_be_simulated_are_left_out() -> None:
    records = [
        Record("openai", time=START, prompt_id="p", model=SONNET, uncached_input=10,
               cache_read=100, cache_write=None, prompt_cache_hit=True),  # writes unknown
        req(0, write=0, read=0),  # nothing cacheable
        Record("anthropic", time=None, prompt_id="p", model=SONNET, uncached_input=10,
               cache_read=100, cache_write=0, prompt_cache_hit=True),  # no time
        Record("anthropic", time=START, prompt_id="p", model=SONNET, uncached_input=10,
               cache_read=100, cache_write=0, prompt_cache_hit=True,
               response_cache="hit"),  # the response cache served it
    ]
    assert analysed(records).advice() == []


def test_the_list_is_ordered_by_saving_and_cut() -> None:
    records = []
    for n in range(ADVICE_SHOWN + 5):
        records += [req(0, write=1000 * (n + 1), prompt=f"p{n}"),
                    req(1800, read=1000 * (n + 1), prompt=f"p{n}")]
    shown = analysed(records).to_json()
    rows = shown["ttl_advice"]
    assert isinstance(rows, list) and len(rows) == ADVICE_SHOWN
    assert shown["ttl_advice_left_out"] == 5
    savings = [row["saving_usd_per_day"] for row in rows]
    assert savings == sorted(savings, reverse=True)
    assert rows[0]["lineage"] == f"prompt:p{ADVICE_SHOWN + 4}"
    assert list(rows[0])[:7] == ["lineage", "requests", "cost_5m_usd", "cost_1h_usd", "best",
                                  "saving_usd_per_day", "unpaid_1h_writes"]


# --- CG208 -----------------------------------------------------------------------


def test_cg208_names_the_cheaper_ttl_when_5_minute_entries_expire_between_requests() -> None:
    records = [req(n * 1800, write=1000) if n == 0 else req(n * 1800, read=200, write=800)
               for n in range(10)]
    [finding] = ttl_findings(analysed(records), "ledger.jsonl")
    assert 'set its cache_control to "1h"' in finding.message
    assert "writes 5-minute cache entries (0 of 10 writes 1-hour)" in finding.message
    assert "a day of ledger" in finding.message
    assert finding.key == "prompt:p"


def test_no_cg208_within_10_percent() -> None:
    # 5m: 1.25 + 1.25 = 2.5; 1h: 2 + 0.1 = 2.1 per 1000 tokens: 1h is used, and cheaper.
    records = [req(0, write=1000, one_hour=1000), req(1800, read=1000)]
    assert ttl_findings(analysed(records), "ledger.jsonl") == []


def test_the_manifest_s_declared_ttl_wins_over_the_ledger_s_writes() -> None:
    records = [req(0, write=1000, one_hour=1000), req(1800, read=1000)]
    [finding] = ttl_findings(analysed(records), "ledger.jsonl", {"p": "5m"})
    assert "is declared with 5-minute entries" in finding.message
    assert ttl_findings(analysed(records), "ledger.jsonl", {"other": "5m"}) == []


def test_cg208_on_an_unpriced_lineage_speaks_in_token_equivalents() -> None:
    records = [req(0, write=1000, one_hour=1000, model=UNPRICED),
               req(60, read=1000, model=UNPRICED),
               req(60 + 7200, write=1000, one_hour=1000, model=UNPRICED)]
    [finding] = ttl_findings(analysed(records), "ledger.jsonl")
    assert "base-input-token equivalents" in finding.message and "$" not in finding.message


def test_cg208_findings_are_capped_with_one_saying_how_many_more() -> None:
    records = []
    for n in range(25):
        records += [req(0, write=1000, prompt=f"p{n}"), req(1800, write=1000, prompt=f"p{n}"),
                    req(3600, read=1000, write=10, prompt=f"p{n}")]
    findings = ttl_findings(analysed(records), "ledger.jsonl")
    assert len(findings) == 21
    assert findings[-1].message.startswith("5 more lineages")


def test_cg208_lists_the_lineages_that_save_most_whatever_their_number() -> None:
    """Only the first few flagged rows are kept as the lineages stream past: the listed
    ones are still the biggest savings, in order."""
    records = []
    for n in range(50):
        tokens = 1000 + 37 * ((n * 17) % 50)  # savings in no order of their names
        records += [req(0, write=tokens, prompt=f"p{n}"), req(1800, write=tokens, prompt=f"p{n}"),
                    req(3600, read=tokens, write=10, prompt=f"p{n}")]
    advice = analysed(records)
    findings = ttl_findings(advice, "ledger.jsonl")
    assert [f.key for f in findings[:20]] == [row.lineage for row in advice.advice()[:20]]
    assert findings[-1].message.startswith("30 more lineages")


def test_min_requests_leaves_thin_lineages_unjudged() -> None:
    records = [req(0, write=1000, one_hour=1000), req(7200, write=1000, one_hour=1000)]
    assert len(ttl_findings(analysed(records), "ledger.jsonl")) == 1
    assert ttl_findings(analysed(records), "ledger.jsonl", min_requests=3) == []


def test_the_module_documents_cg208() -> None:
    doc = tuning_ttl.__doc__ or ""
    lead = " ".join(doc.split("\n\n", 1)[0].split())
    assert f"CG208 {rules.get('CG208').name}" in lead
    assert re.search(r"(?m)^Example:", doc) and re.search(r"(?m)^Fix: ", doc)


def test_the_gap_bins_are_the_ones_the_reference_uses() -> None:
    """The 5-minute and 1-hour lines fall on bin edges (the HTML report draws them)."""
    assert GAP_BINS_S == UPPER_BOUNDS
    assert 300 in GAP_BINS_S and 3600 in GAP_BINS_S
