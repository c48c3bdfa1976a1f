"""LiteLLM's SpendLogs table, as its Prisma schema creates it, and the JSONL export of it.

The DDL is what `prisma migrate` produces for litellm's `model LiteLLM_SpendLogs`
(Prisma's DateTime is timestamp(3) without time zone, holding UTC; Json is jsonb).
The rows come from `tests.ledgers.litellm`, the JSONL tests' own builder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

TABLE = "LiteLLM_SpendLogs"

DDL = """
CREATE TABLE {table} (
    "request_id" TEXT NOT NULL,
    "call_type" TEXT NOT NULL,
    "api_key" TEXT NOT NULL DEFAULT '',
    "spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    "total_tokens" INTEGER NOT NULL DEFAULT 0,
    "prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    "completion_tokens" INTEGER NOT NULL DEFAULT 0,
    "startTime" TIMESTAMP(3) NOT NULL,
    "endTime" TIMESTAMP(3) NOT NULL,
    "request_duration_ms" INTEGER,
    "completionStartTime" TIMESTAMP(3),
    "model" TEXT NOT NULL DEFAULT '',
    "model_id" TEXT DEFAULT '',
    "model_group" TEXT DEFAULT '',
    "custom_llm_provider" TEXT DEFAULT '',
    "api_base" TEXT DEFAULT '',
    "user" TEXT DEFAULT '',
    "metadata" JSONB DEFAULT '{{}}',
    "cache_hit" TEXT DEFAULT '',
    "cache_key" TEXT DEFAULT '',
    "request_tags" JSONB DEFAULT '[]',
    "team_id" TEXT,
    "organization_id" TEXT,
    "end_user" TEXT,
    "requester_ip_address" TEXT,
    "messages" JSONB DEFAULT '{{}}',
    "response" JSONB DEFAULT '{{}}',
    "session_id" TEXT,
    "status" TEXT,
    "mcp_namespaced_tool_name" TEXT,
    "agent_id" TEXT,
    "proxy_server_request" JSONB DEFAULT '{{}}',
    -- Added by newer LiteLLM migrations: an export renders them as date strings, where
    -- OpenAI's `created_at` is a number (lines.LENIENT_FIELDS).
    "created_at" TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT {pkey} PRIMARY KEY ("request_id")
);
CREATE INDEX {time_index} ON {table} ("startTime");
CREATE INDEX {time_id_index} ON {table} ("startTime", "request_id");
CREATE INDEX {end_user_index} ON {table} ("end_user");
CREATE INDEX {session_index} ON {table} ("session_id");
"""

JSON_COLUMNS = frozenset({"metadata", "request_tags", "messages", "response",
                          "proxy_server_request"})


def create_table(conn: psycopg.Connection[Any], table: str = TABLE,
                 schema: str | None = None) -> None:
    def name(text: str) -> sql.Identifier:
        return sql.Identifier(schema, text) if schema else sql.Identifier(text)

    if schema:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL(DDL).format(
        table=name(table), pkey=sql.Identifier(f"{table}_pkey"),
        time_index=sql.Identifier(f"{table}_startTime_idx"),
        time_id_index=sql.Identifier(f"{table}_startTime_request_id_idx"),
        end_user_index=sql.Identifier(f"{table}_end_user_idx"),
        session_index=sql.Identifier(f"{table}_session_id_idx")))


# Insert a JSON null (not an SQL NULL) into a json column.
JSON_NULL = object()


def _json(value: Any) -> Any:
    return Jsonb(None) if value is JSON_NULL else Jsonb(value)


def insert_rows(conn: psycopg.Connection[Any], table: sql.Composable,
                rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows shaped as `tests.ledgers.litellm` builds them. In a json column, a
    Python value is stored as its JSON (a str as a JSON string, as older writers
    stored metadata), None as SQL NULL, JSON_NULL as JSON null."""
    count = 0
    with conn.cursor() as cursor:
        for row in rows:
            values = {column: _json(value) if column in JSON_COLUMNS and value is not None
                      else value for column, value in row.items()}
            cursor.execute(sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                table, sql.SQL(", ").join(map(sql.Identifier, values)),
                sql.SQL(", ").join(sql.Placeholder() * len(values))), list(values.values()))
            count += 1
    return count


EVERY_ROW = sql.SQL("true")


def export_jsonl(conn: psycopg.Connection[Any], table: sql.Composable, path: Path,
                 where: sql.Composable = EVERY_ROW,
                 params: dict[str, Any] | None = None) -> Path:
    """Every row as PostgreSQL itself renders it in JSON (`to_jsonb`), one a line, in
    time order: what a team gets by exporting SpendLogs to a JSONL ledger."""
    query = sql.SQL('SELECT to_jsonb(s)::text FROM {} AS s WHERE {} ORDER BY s."startTime", '
                    "s.request_id").format(table, where)
    with path.open("w", encoding="utf-8") as out:
        for (line,) in conn.execute(query, params):
            # One JSON object a line: PostgreSQL's rendering has no raw newline in it.
            assert "\n" not in line
            out.write(line + "\n")
    return path
