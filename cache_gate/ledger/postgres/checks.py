"""SQL that tells, for a jsonb value, whether msgspec would decode it into a ledger struct.

The JSONL reader rejects a line whose `metadata.additional_usage_values` holds, say,
`"12"` or `1.0` or `-3` where a token count belongs: msgspec's typed decode fails and
the line is counted bad. The PostgreSQL reader must reject the same rows. Rather than
restating the structs' fields in SQL by hand, the checks are generated from the
structs themselves (`msgspec.inspect`), so that a field added to `lines.Usage` is
checked in both back ends at once.

The JSON that msgspec sees is PostgreSQL's own rendering of the jsonb value (the
JSONL export of a row), so the SQL asks what that rendering would say: a jsonb
number prints with the scale it was stored with (`1.0` stays `1.0`, `1e3` prints
`1000`), and msgspec takes only a number printed without a fraction as an int.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from psycopg import sql

_INSPECT = msgspec.inspect


def _unwrap_optional(info: _INSPECT.Type) -> tuple[_INSPECT.Type, bool]:
    """(the type, whether JSON null is accepted) of `T | None`."""
    if isinstance(info, _INSPECT.UnionType):
        kinds = [kind for kind in info.types if not isinstance(kind, _INSPECT.NoneType)]
        if len(kinds) != 1:
            raise NotImplementedError(f"no SQL check for the union {info}")
        return kinds[0], len(kinds) < len(info.types)
    return info, False


def _int_pattern(info: _INSPECT.IntType, *, nullable: bool) -> str:
    """The JSON rendering of an int as msgspec reads one: digits only (no fraction, no
    exponent: jsonb prints 1e3 as 1000), a sign if negatives are allowed, `null` if
    the field is optional. A regular expression's alternatives, unanchored."""
    digits = "+"
    if info.le is not None:
        # Only a bound of all nines (10**k - 1) is a digit count.
        if info.le <= 0 or str(info.le) != "9" * len(str(info.le)):
            raise NotImplementedError(f"no SQL check for {info}")
        digits = f"{{1,{len(str(info.le))}}}"
    if info.gt is not None or info.lt is not None or (
            info.multiple_of is not None) or info.ge not in (None, 0):
        raise NotImplementedError(f"no SQL check for {info}")
    number = f"[0-9]{digits}" if info.ge == 0 else f"-?[0-9]{digits}"
    return f"{number}|null" if nullable else number


def _int_check(value: sql.Composable, info: _INSPECT.IntType, *, nullable: bool,
               required: bool) -> sql.Composable:
    """An int as msgspec reads one, tested on PostgreSQL's JSON rendering of the value.
    One regex on a short string costs less than the jsonb function calls that would
    take it apart."""
    return sql.SQL("coalesce(({})::text ~ {}, {})").format(
        value, sql.Literal(f"^({_int_pattern(info, nullable=nullable)})$"),
        sql.SQL("false" if required else "true"))


def _ints_check(pattern: str, values: list[sql.Composable]) -> sql.Composable:
    """Optional ints of one pattern, tested at once: their renderings joined by commas
    (a missing one, SQL NULL, is left out: it decodes to its default), matched by one
    regex. No rendering of a valid int holds a comma, and every rendering of another
    JSON value holds a character no valid one does (a quote, a bracket, a brace, a
    dot, a letter other than `null`'s), so the join matches exactly when each one
    does. One regex a row instead of one a field: the checks are most of the cost of
    reading a row once its metadata is decompressed."""
    joined = sql.SQL(", ").join(sql.SQL("({})::text").format(value) for value in values)
    return sql.SQL("(concat_ws(',', {}) ~ {})").format(
        joined, sql.Literal(f"^(({pattern})(,|$))*$"))


def fields_decode(value: sql.Composable, struct: type[msgspec.Struct],
                  known: Mapping[str, sql.Composable] | None = None) -> sql.Composable:
    """SQL true when every field of `struct` in the jsonb object `value` decodes.

    `known` gives, by dotted JSON path (`additional_usage_values.cache_creation`),
    a column that already holds that member, to be read instead of extracted again.
    Keys that the struct does not declare are ignored, as msgspec ignores them.
    """
    info = _INSPECT.type_info(struct)
    assert isinstance(info, _INSPECT.StructType)
    return _struct_fields(value, info, known or {}, "")


def decodes(value: sql.Composable, info: _INSPECT.Type, *, required: bool = False,
            known: Mapping[str, sql.Composable] | None = None,
            path: str = "") -> sql.Composable:
    """SQL true when the jsonb `value` would decode as `info`; SQL NULL stands for a
    missing key, which decodes to the field's default unless it is `required`."""
    kind, nullable = _unwrap_optional(info)
    if isinstance(kind, _INSPECT.IntType):
        return _int_check(value, kind, nullable=nullable, required=required)
    ints: dict[str, list[sql.Composable]] = {}
    check = _shape(value, kind, nullable=nullable, required=required, known=known or {},
                   path=path, ints=ints)
    return _joined([check, *(_ints_check(pattern, values) for pattern, values in ints.items())])


def _joined(checks: list[sql.Composable]) -> sql.Composable:
    return sql.SQL("({})").format(sql.SQL(" AND ").join(checks)) if checks else sql.SQL("true")


def _shape(value: sql.Composable, kind: _INSPECT.Type, *, nullable: bool, required: bool,
           known: Mapping[str, sql.Composable], path: str,
           ints: dict[str, list[sql.Composable]]) -> sql.Composable:
    """The check of a struct-typed member, but for the optional ints in it and below
    it, which go to `ints` (by pattern) to be checked at once: whatever the member
    holds, `member -> key` is SQL NULL where it is not an object, and its ints then
    pass, as they should, for the member's own check decides."""
    if not isinstance(kind, _INSPECT.StructType):
        raise NotImplementedError(f"no SQL check for {kind}")
    return sql.SQL(
        "(CASE jsonb_typeof({value}) WHEN 'object' THEN {check} WHEN 'null' THEN {null} "
        "ELSE {absent} END)"
    ).format(
        value=value, check=_fields(value, kind, known, path, ints),
        null=sql.SQL("true" if nullable else "false"),
        absent=sql.SQL("false") if required else sql.SQL("{} IS NULL").format(value),
    )


def _fields(value: sql.Composable, info: _INSPECT.StructType,
            known: Mapping[str, sql.Composable], path: str,
            ints: dict[str, list[sql.Composable]]) -> sql.Composable:
    checks = []
    for field in info.fields:
        field_path = f"{path}.{field.encode_name}" if path else field.encode_name
        member = known[field_path] if field_path in known else sql.SQL("({} -> {})").format(
            value, sql.Literal(field.encode_name))
        kind, nullable = _unwrap_optional(field.type)
        if isinstance(kind, _INSPECT.IntType) and not field.required:
            ints.setdefault(_int_pattern(kind, nullable=nullable), []).append(member)
        elif isinstance(kind, _INSPECT.IntType):
            checks.append(_int_check(member, kind, nullable=nullable, required=True))
        else:
            checks.append(_shape(member, kind, nullable=nullable, required=field.required,
                                 known=known, path=field_path, ints=ints))
    return _joined(checks)


def _struct_fields(value: sql.Composable, info: _INSPECT.StructType,
                   known: Mapping[str, sql.Composable], path: str) -> sql.Composable:
    ints: dict[str, list[sql.Composable]] = {}
    check = _fields(value, info, known, path, ints)
    return _joined([check, *(_ints_check(pattern, values) for pattern, values in ints.items())])


def members(struct: type[msgspec.Struct]) -> list[tuple[tuple[str, ...], bool]]:
    """Every field of `struct`, nested structs' fields too, depth first: (the JSON keys
    that lead to it, whether it is itself a struct)."""
    info = _INSPECT.type_info(struct)
    assert isinstance(info, _INSPECT.StructType)
    found: list[tuple[tuple[str, ...], bool]] = []

    def walk(node: _INSPECT.StructType, keys: tuple[str, ...]) -> None:
        for field in node.fields:
            kind, _ = _unwrap_optional(field.type)
            path = (*keys, field.encode_name)
            found.append((path, isinstance(kind, _INSPECT.StructType)))
            if isinstance(kind, _INSPECT.StructType):
                walk(kind, path)

    walk(info, ())
    return found
