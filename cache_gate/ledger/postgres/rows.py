"""Each SpendLogs row read in SQL as `formats._litellm` reads a JSONL line.

Every expression here restates a line of `formats._litellm` / `_litellm_tokens`,
and the tests hold the two to each other over the same rows.

A row goes through four nested SELECTs, each computing its values once:

- `A`: the table's columns in the window, `metadata` detoasted once. LiteLLM's
  metadata is a compressed jsonb of one to several KB, and every function that
  reads a toasted value decompresses it again: it is copied out once, into an
  array (`unnest(ARRAY[x])`: arrays hold their elements detoasted);
- `B`: `metadata.additional_usage_values` and the objects in it that
  `lines.Usage` declares;
- `C`: the token counts, the tags, the response-cache status, and whether
  msgspec would decode the row at all (`pg_checks`, generated from the structs);
- `D`: what the row is (`kind`) and what it adds to the sums.

Every level also hands on the columns the reader reads as the table holds them
(`raw__*`), from which `row_json` renders a row as its JSONL export would, for the
few rows read in Python: rendering it costs a second reading of `metadata`.

Each level has a set-returning function in its SELECT list (a one-element
`unnest`): that keeps the planner from inlining it into the next and computing
its expressions again wherever they are used, and it keeps parallel plans.

`kind` is `record` for a request that counts, `bad` for a row the JSONL reader
would reject as a bad line, `undated` / `other` for one that a window without a
time / a --workflow filter leaves out, and `python` for the rare rows whose shape
the SQL does not model (metadata or request_tags stored as a JSON string, as
older writers did): those are fetched and read by `formats.read_line` itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from cache_gate.ledger.lines import SpendMetadata, Usage
from cache_gate.ledger.postgres.checks import fields_decode, members

RECORD, BAD, UNDATED, OTHER_WORKFLOW, IRREGULAR = "record", "bad", "undated", "other", "python"

# SpendLogs columns that the JSONL reader reads from an exported row (`lines.Line`
# fields), in LiteLLM's spelling: a fetched row is rendered with these.
READ_COLUMNS = ("request_id", "call_type", "spend", "prompt_tokens", "completion_tokens",
                "startTime", "model", "model_group", "metadata", "cache_hit", "cache_key",
                "request_tags")
# Columns read where the table has them (older LiteLLM tables do not): the session.
OPTIONAL_COLUMNS = ("session_id",)

# What Python's str.strip() strips: LiteLLM's cache_hit " True " is a hit. Listed, not
# computed at import (a scan of every code point costs 70 ms of each run's start-up);
# tests/postgres/test_checks.py holds the list to str.isspace.
WHITESPACE = "".join(map(chr, (
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
    *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)))

# Tag prefixes, as `formats._litellm` reads them.
WORKFLOW_TAG, SKILL_TAG, PHASE_TAG, PROMPT_TAG = "workflow:", "skill:", "phase:", "prompt:"

USAGE_KEY = "additional_usage_values"
# Every field of `lines.Usage`, nested ones too: (JSON keys, is a struct).
USAGE_MEMBERS = members(Usage)


@dataclass(frozen=True)
class Scope:
    """Which rows a query reads and how strictly, as the JSONL reader would."""

    table: sql.Composable
    # Every field typed, as `report`'s decoders check them (completion_tokens, spend).
    descriptive: bool = False
    # startTime typed: a window is set, or `report`.
    timed: bool = False
    since: datetime | None = None
    until: datetime | None = None
    # A window is set (even one wider than any timestamp): undated rows are left out.
    windowed: bool = False
    # startTime may be NULL in this table (LiteLLM's own schema says NOT NULL).
    nullable_time: bool = False
    workflows: tuple[str, ...] | None = None
    # The OPTIONAL_COLUMNS this table has, rendered into a fetched row's JSON.
    optional_columns: tuple[str, ...] = ()

    def params(self) -> dict[str, object]:
        return {"since": self.since, "until": self.until, "whitespace": WHITESPACE,
                "workflows": list(self.workflows or ())}


def _member(keys: tuple[str, ...]) -> sql.Identifier:
    """The column holding `additional_usage_values.<keys>` (jsonb)."""
    return sql.Identifier("u__" + "__".join(keys))


def _window(scope: Scope) -> sql.Composable:
    bounds = []
    if scope.since is not None:
        bounds.append(sql.SQL('s."startTime" >= %(since)s'))
    if scope.until is not None:
        bounds.append(sql.SQL('s."startTime" <= %(until)s'))
    if not bounds:
        return sql.SQL("")
    condition = sql.SQL(" AND ").join(bounds)
    # The JSONL reader counts undated records apart: find them too (a time it cannot
    # read is none; each of these is a range of the startTime index).
    condition = sql.SQL(
        '({}) OR s."startTime" < \'0001-01-01\' OR s."startTime" >= \'10000-01-01\''
    ).format(condition)
    if scope.nullable_time:
        condition = sql.SQL('{} OR s."startTime" IS NULL').format(condition)
    return sql.SQL("WHERE {}").format(condition)


def _raw(column: str) -> sql.Identifier:
    """The column `column` as the table holds it (its own type), passed through the
    levels untouched: the JSON of a row is rendered from these."""
    return sql.Identifier("raw__" + column)


def row_json(scope: Scope, alias: str = "d", *, record: bool = False) -> sql.Composable:
    """The row as the JSONL export renders it (`to_jsonb`), for `formats.read_line`:
    select it only for the few rows that need it (after the WHERE, or in a CASE), as
    it renders the whole of `metadata`.

    `record`: the row is a record (kind `record`), read for its values: its metadata
    is rendered as the only member of it the reader reads (`lines.SpendMetadata`:
    `additional_usage_values`, where present). It decodes to the same Record, and
    costs a fraction of the whole (LiteLLM's metadata is one to several KB)."""
    def value(column: str) -> sql.Composable:
        if record and column == "metadata":
            return sql.SQL(
                "CASE WHEN {a}.metadata_type IS DISTINCT FROM 'object' THEN {a}.{raw} "
                "WHEN {a}.usage IS NULL THEN '{{}}'::jsonb "
                "ELSE jsonb_build_object({key}, {a}.usage) END").format(
                    a=sql.Identifier(alias), raw=_raw(column), key=sql.Literal(USAGE_KEY))
        return sql.SQL("{}.{}").format(sql.Identifier(alias), _raw(column))

    pairs = sql.SQL(", ").join(sql.SQL("{}, {}").format(sql.Literal(column), value(column))
                               for column in _raw_columns(scope))
    return sql.SQL("jsonb_build_object({})::text").format(pairs)


def _level_a(scope: Scope) -> sql.Composable:
    return sql.SQL("""
SELECT
    s.request_id::text AS request_id,
    s.call_type::text AS call_type,
    s."startTime" AS start_time,
    s.prompt_tokens AS prompt,
    s.completion_tokens AS completion,
    s.spend AS spend,
    s.cache_hit::text AS cache_hit,
    s.cache_key::text AS cache_key,
    s.model::text AS model,
    s.model_group::text AS model_group,
    -- `::jsonb` costs nothing on LiteLLM's jsonb; it parses a json or text column.
    s.request_tags::jsonb AS tags,
    {session} AS session,
    {raw},
    unnest(ARRAY[s.metadata::jsonb]) AS metadata
FROM {table} AS s
{window}""").format(
        table=scope.table, window=_window(scope),
        # formats.fields.session_name: an empty session id names no session.
        session=sql.SQL("nullif(s.session_id::text, '')") if "session_id" in
        scope.optional_columns else sql.SQL("NULL::text"),
        raw=sql.SQL(", ").join(sql.SQL("s.{} AS {}").format(sql.Identifier(column), _raw(column))
                               for column in _raw_columns(scope)))


def _raw_columns(scope: Scope) -> tuple[str, ...]:
    return (*READ_COLUMNS, *scope.optional_columns)


_PASSED_ON = ("request_id", "call_type", "start_time", "prompt", "completion", "spend",
              "cache_hit", "cache_key", "model", "model_group", "session")


def _passed(alias: str, scope: Scope) -> sql.Composable:
    """The columns each level hands on as it got them."""
    names = [sql.Identifier(name) for name in _PASSED_ON]
    names += [_raw(column) for column in _raw_columns(scope)]
    return sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(alias), name)
                              for name in names)


def _level_b(scope: Scope, level_a: sql.Composable) -> sql.Composable:
    structs = [sql.SQL("a.metadata #> {} AS {}").format(
        sql.Literal("{" + ",".join((USAGE_KEY, *keys)) + "}"), _member(keys))
        for keys, is_struct in USAGE_MEMBERS if is_struct]
    return sql.SQL("""
SELECT {passed}, a.tags, a.metadata,
    jsonb_typeof(a.tags) AS tags_type,
    jsonb_typeof(a.metadata) AS metadata_type,
    {structs},
    unnest(ARRAY[a.metadata -> {usage_key}]) AS usage
FROM ({level_a}) AS a""").format(
        passed=_passed("a", scope), structs=sql.SQL(",\n    ").join(structs),
        usage_key=sql.Literal(USAGE_KEY), level_a=level_a)


def _tag(prefix: str) -> sql.Composable:
    """formats._tag_value: the rest of the first tag that starts with `prefix`."""
    path = f'strict $[*] ? (@ starts with "{prefix}")'
    return sql.SQL(
        "(CASE WHEN b.tags_type = 'array' THEN "
        "substr(jsonb_path_query_first(b.tags, {path}::jsonpath) #>> '{{}}', {start}) END)"
    ).format(path=sql.Literal(path), start=sql.Literal(len(prefix) + 1))


def _level_c(scope: Scope, level_b: sql.Composable) -> sql.Composable:
    return sql.SQL("""
SELECT {passed}, b.metadata_type, b.tags_type, b.usage,
    -- formats._litellm_tokens: the Anthropic names first, else OpenAI's details
    coalesce({cache_read}, {cached_tokens}) AS read_reported,
    coalesce({cache_creation}, {cache_creation_tokens}) AS write_reported,
    {text_tokens} AS text_tokens,
    -- where LiteLLM put Anthropic's 1-hour writes then, and where it puts them now
    coalesce({write_1h}, {write_1h_details}) AS write_1h,
    b.prompt IS NOT NULL AND jsonb_typeof(b.usage) = 'object' AS usage_reported,
    -- `workflow:` or else `skill:`, as Python's `or` reads them (an empty value is no value)
    coalesce(nullif({workflow_tag}, ''), {skill_tag}) AS workflow,
    {prompt_tag} AS prompt_id,
    {phase_tag} AS phase,
    -- formats._litellm_response_cache: "Cache OFF" is none at all; "True" a hit; with
    -- a cache key, anything else a miss ("None" non-streaming, "False" streaming)
    CASE WHEN b.cache_key IS NOT DISTINCT FROM 'Cache OFF' THEN NULL
        WHEN lower(btrim(b.cache_hit, %(whitespace)s) COLLATE "C") = 'true' THEN 'hit'
        WHEN coalesce(b.cache_key, '') <> '' THEN 'miss'
        WHEN lower(btrim(b.cache_hit, %(whitespace)s) COLLATE "C") = 'false' THEN 'miss'
    END AS response,
    unnest(ARRAY[{decodes}]) AS decodes
FROM ({level_b}) AS b""").format(
        passed=_passed("b", scope),
        cache_read=_number("cache_read_input_tokens"),
        cached_tokens=_number("prompt_tokens_details", "cached_tokens"),
        cache_creation=_number("cache_creation_input_tokens"),
        cache_creation_tokens=_number("prompt_tokens_details", "cache_creation_tokens"),
        text_tokens=_number("prompt_tokens_details", "text_tokens"),
        write_1h=_number("cache_creation", "ephemeral_1h_input_tokens"),
        write_1h_details=_number("prompt_tokens_details", "cache_creation_token_details",
                                 "ephemeral_1h_input_tokens"),
        workflow_tag=_tag(WORKFLOW_TAG), skill_tag=_tag(SKILL_TAG), prompt_tag=_tag(PROMPT_TAG),
        phase_tag=_tag(PHASE_TAG) if scope.descriptive else sql.SQL("NULL::text"),
        decodes=_decodes(scope), level_b=level_b)


def _number(*keys: str) -> sql.Composable:
    """A usage field as numeric; NULL when absent or not a number (then the row is bad)."""
    parent = _member(keys[:-1]) if len(keys) > 1 else sql.Identifier("usage")
    value = sql.SQL("(b.{} -> {})").format(parent, sql.Literal(keys[-1]))
    return sql.SQL("(CASE WHEN jsonb_typeof({0}) = 'number' THEN ({0})::numeric END)"
                   ).format(value)


def _decodes(scope: Scope) -> sql.Composable:
    """Whether msgspec decodes the exported row: the typed fields the reader reads."""
    known: dict[str, sql.Composable] = {USAGE_KEY: sql.SQL("b.usage")}
    known.update((".".join((USAGE_KEY, *keys)), sql.SQL("b.{}").format(_member(keys)))
                 for keys, is_struct in USAGE_MEMBERS if is_struct)
    checks: list[sql.Composable] = [
        sql.SQL("(b.prompt IS NULL OR b.prompt >= 0)"),
        # A JSON-string metadata is read by Python (kind `python`), not checked here.
        sql.SQL("(b.metadata_type IS NULL OR b.metadata_type = 'null' "
                "OR (b.metadata_type = 'object' AND {}))").format(
            fields_decode(sql.SQL("b.metadata"), SpendMetadata, known=known)),
        # msgspec's list[str]
        sql.SQL("(b.tags_type IS NULL OR b.tags_type = 'null' OR (b.tags_type = 'array' AND "
                "NOT jsonb_path_exists(b.tags, 'strict $[*] ? (@.type() != \"string\")')))"),
    ]
    # completion_tokens, spend and startTime are lenient (lines.LENIENT_FIELDS): a value
    # the JSONL reader cannot read is unknown there, never a bad line.
    return sql.SQL(" AND ").join(checks)


# formats._litellm_tokens: prompt caching is reported when the usage names a cache
# read or a write (the other, absent, is then 0).
_REPORTS = "(d.usage_reported AND (d.read_reported IS NOT NULL OR d.write_reported IS NOT NULL))"
_READ, _WRITE = "coalesce(d.read_reported, 0)", "coalesce(d.write_reported, 0)"

# msgspec reads RFC 3339 times, years 1 to 9999: any other time (infinity, year
# 10000) is no time, as in a JSONL line (lines.LENIENT_FIELDS).
KNOWN_TIME = ("coalesce(d.start_time >= '0001-01-01' AND d.start_time < '10000-01-01', "
              "false)")
LEVEL_D = f"""
SELECT d.request_id, d.start_time, d.workflow, d.prompt_id, d.phase,
    d.model, d.model_group, d.session, d.write_1h, d.response, d.metadata_type, d.usage,
    {{raw}},
    CASE WHEN {_REPORTS} THEN {_READ} END AS cache_read,
    CASE WHEN {_REPORTS} THEN {_WRITE} END AS cache_write,
    {_REPORTS} AND d.response IS DISTINCT FROM 'hit' AS eligible,
    CASE WHEN NOT {_REPORTS} THEN NULL
         WHEN d.text_tokens IS NOT NULL THEN d.text_tokens
         WHEN {_READ} + {_WRITE} <= d.prompt THEN d.prompt - {_READ} - {_WRITE}
         WHEN {_READ} <= d.prompt THEN d.prompt - {_READ}
    END AS uncached,
    unnest(ARRAY[CASE
        WHEN d.request_id IS NULL OR d.call_type IS NULL
            OR d.metadata_type = 'string' OR d.tags_type = 'string' THEN {{irregular}}
        WHEN NOT d.decodes
            -- formats._litellm_tokens: cache reads beyond prompt_tokens make the line bad
            OR ({_REPORTS} AND d.text_tokens IS NULL AND {_READ} > d.prompt) THEN {{bad}}
        WHEN {{windowed}} AND NOT {KNOWN_TIME} THEN {{undated}}
        WHEN NOT {{selected}} THEN {{other}}
        ELSE {{record}}
    END]) AS kind
FROM ({{level_c}}) AS d"""


def row_pipeline(scope: Scope) -> sql.Composed:
    """Every row of the window with its `kind` and the values it adds to the sums
    (and its columns as the table holds them, for `row_json`)."""
    level_c = _level_c(scope, _level_b(scope, _level_a(scope)))
    # A record without a workflow is in no --workflow selection (NULL = ANY(...) is NULL).
    selected = (sql.SQL("coalesce(d.workflow = ANY(%(workflows)s::text[]), false)")
                if scope.workflows is not None else sql.SQL("true"))
    return sql.SQL(LEVEL_D).format(
        level_c=level_c, raw=sql.SQL(", ").join(
            sql.SQL("d.{}").format(_raw(column)) for column in _raw_columns(scope)),
        irregular=sql.Literal(IRREGULAR), bad=sql.Literal(BAD),
        undated=sql.Literal(UNDATED), other=sql.Literal(OTHER_WORKFLOW),
        record=sql.Literal(RECORD), windowed=sql.SQL("true" if scope.windowed else "false"),
        selected=selected)


def rows_of_kind_query(scope: Scope, kind: str, limit: int | None = None) -> sql.Composed:
    """The rows of one kind, rendered as JSON, in time order (bad samples, or the
    rows that Python reads itself)."""
    return sql.SQL("""
SELECT d.request_id, extract(epoch FROM d.start_time)::float8 AS moment, {row_json}
FROM ({rows}) AS d
WHERE d.kind = {kind}
ORDER BY d.start_time, d.request_id
{limit}
""").format(rows=row_pipeline(scope), row_json=row_json(scope), kind=sql.Literal(kind),
            limit=sql.SQL("LIMIT {}").format(sql.Literal(limit)) if limit else sql.SQL(""))
