"""`anthropic-usage-report`: one time bucket of Anthropic's Usage & Cost Admin API
(`GET /v1/organizations/usage_report/messages`, or its successor
`GET /v1/organizations/analytics/usage`), one bucket a line.

Recognised by `starting_at` together with `results`.

- A bucket is an AGGREGATE of many requests: its tokens count in the token sums
  (`cached_token_ratio`, the report's savings), never in a request count (requests,
  eligible requests, prompt-cache hits, the requests behind a token ratio). A ledger
  of buckets alone therefore leaves `cached_token_ratio` `insufficient` unless
  `--min-requests 0`, and the request-based KPIs `n/a`.
- Each row of `results` has Anthropic semantics: `uncached_input_tokens`,
  `cache_read_input_tokens` and `cache_creation.ephemeral_5m_input_tokens` /
  `ephemeral_1h_input_tokens` add up to the input. A bucket is read as one record
  summing its rows; a row without `uncached_input_tokens` or
  `cache_read_input_tokens` makes the bucket's tokens unknown.
- The model is the rows' `model` when they all name the same one (`group_by[]=model`
  with one model in the bucket), else unknown: a bucket mixing models is priced
  under "(none)" by the report's savings. Write one bucket per model, one row each,
  to price them all.
- The time is `starting_at`: a bucket is in a window when its start is. An empty
  `results` is a bucket with no usage.

Sources: Anthropic, "Get Messages Usage Report",
https://platform.claude.com/docs/en/api/admin-api/usage-cost/get-messages-usage-report,
and the Usage & Cost API guide, https://platform.claude.com/docs/en/build-with-claude/usage-cost-api;
the row's fields checked against the anthropic Python SDK 2.16's
`BetaAnalyticsUsageReportTimeBucket` / `BetaAnalyticsUsageBucketedResult` (the
successor endpoint's bucket, the same shape). Not confirmed: the legacy endpoint's
response fields from its own page (the stored copy showed its parameters only). The
successor's optional per-row `requests` count is not read: it says nothing of which
requests hit the cache.
"""

from __future__ import annotations

import msgspec

from cache_gate.ledger.formats.fields import decode_field, plain, raw_time
from cache_gate.ledger.lines import Line, UsageResult
from cache_gate.ledger.record import Record

NAME = "anthropic-usage-report"

_RESULTS = msgspec.json.Decoder(list[UsageResult])


def is_bucket(line: Line) -> bool:
    return bool(line.starting_at and line.results)


def normalise(line: Line) -> Record:
    rows = decode_field(_RESULTS, line.results, "results")
    uncached = read = write = write_1h = output = 0
    known = True
    models: set[str | None] = set()
    for row in rows:
        if row.uncached_input_tokens is None or row.cache_read_input_tokens is None:
            known = False
        uncached += row.uncached_input_tokens or 0
        read += row.cache_read_input_tokens or 0
        creation = row.cache_creation
        if creation is not None:
            one_hour = creation.ephemeral_1h_input_tokens or 0
            write += (creation.ephemeral_5m_input_tokens or 0) + one_hour
            write_1h += one_hour
        output += row.output_tokens or 0
        models.add(row.model if isinstance(row.model, str) else None)
    return Record(
        format=NAME,
        time=raw_time(line.starting_at),
        model=models.pop() if len(models) == 1 else None,
        uncached_input=uncached if known else None,
        cache_read=read if known else None,
        cache_write=write if known else None,
        cache_write_1h=write_1h if known else None,
        output_tokens=output,
        aggregate=True,
    )


def claims(line: Line) -> bool:
    """A flat line with `starting_at` and `results`: one bucket of the report."""
    return plain(line) and is_bucket(line)


def read(line: Line) -> Record:
    return normalise(line)
