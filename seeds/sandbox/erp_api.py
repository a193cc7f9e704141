"""NetSuite-shaped ERP endpoints: the SuiteQL query service and the journal entry record.

``POST /services/rest/query/v1/suiteql?limit=&offset=`` with ``{"q": "..."}`` (the header
``Prefer: transient`` is accepted, not required) runs the query through ``suiteql.translate``
and answers NetSuite's collection shape: ``links`` (previous/first/next/last/self), ``count``,
``hasMore``, ``offset``, ``totalResults``, ``items``. Paging rules follow the real service:
``limit`` 1..1000 (default 1000), ``offset`` a multiple of ``limit``, and at most 100,000
results per query - a page reaching past row 100,000 is a 400 even though ``hasMore`` said
there was more, which is why real clients page by key (``WHERE id > :last ORDER BY id``).

Items: keys are the lower-case column aliases, every value is a string, NULLs are left out
(and so is '' - Oracle has no empty string), each item carries ``"links": []``. Formats chosen
by the sandbox (NetSuite's depend on user preferences): booleans ``T``/``F``; numbers in plain
decimal notation with trailing zeros dropped (``100``, ``12.5``); dates ISO ``YYYY-MM-DD``;
timestamps ``YYYY-MM-DD HH:MM:SS`` in UTC (``.ffffff`` only when fractional), which
``TO_TIMESTAMP(:v, 'YYYY-MM-DD HH24:MI:SS')`` reads back. Without ORDER BY the row order is
whatever DuckDB produces, as in NetSuite: page only ordered queries.

Faults: ``duplicate`` starts a page (offset > 0) with the previous page's last row; ``mutate``
(offset > 0) bumps ``lastmodifieddate`` (``linelastmodifieddate`` for transactionline) of the
previous page's last row to max(now, newest + 1 s) before reading, when the outer FROM is
transaction, customer or transactionline and the result has an ``id`` column.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import duckdb

from seeds.sandbox.journal import RECORD_PATH, parse_entry, post_entry, read_entry
from seeds.sandbox.protocol import ApiError, Context, Request, Response, json_response
from seeds.sandbox.suiteql import SuiteQLError, Translation, translate

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
MAX_LIMIT = 1000
MAX_RESULTS = 100_000
QUERY_TIMEOUT_S = 60.0
_MUTABLE = {
    "transaction": "lastmodifieddate",
    "customer": "lastmodifieddate",
    "transactionline": "linelastmodifieddate",
}


def _bad(detail: str, code: str = "INVALID_PARAMETER") -> ApiError:
    return ApiError(400, code, detail)


def _int_param(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _bad(f"Invalid value for the parameter {name}: {raw!r} is not an integer.") from None


def decimal_text(value: Decimal) -> str:
    """A decimal in plain notation without trailing zeros ("100", "12.5", "-0.01")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def suiteql_value(value: object) -> str | None:
    """A result value as SuiteQL sends it: a string, or None to leave the column out."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        text = format(value, ".15g")
        return decimal_text(Decimal(text)) if "e" in text or "." in text else text
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        pattern = "%Y-%m-%d %H:%M:%S.%f" if value.microsecond else "%Y-%m-%d %H:%M:%S"
        return value.strftime(pattern)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, str):
        return value or None
    return str(value)


def _keys(description: list[tuple[Any, ...]]) -> list[str]:
    keys: list[str] = []
    seen: dict[str, int] = {}
    for column in description:
        key = str(column[0]).lower()
        if key in seen:
            seen[key] += 1
            key = f"{key}_{seen[key]}"
        else:
            seen[key] = 0
        keys.append(key)
    return keys


def _items(keys: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    items = []
    for row in rows:
        item: dict[str, Any] = {"links": []}
        for key, value in zip(keys, row, strict=True):
            text = suiteql_value(value)
            if text is not None:
                item[key] = text
        items.append(item)
    return items


def _run(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None,
         ) -> tuple[list[str], list[tuple[Any, ...]]]:
    timer = threading.Timer(QUERY_TIMEOUT_S, cur.interrupt)
    timer.daemon = True
    timer.start()
    try:
        cur.execute(sql, params)
        rows = cur.fetchall()
        return _keys(list(cur.description or [])), rows
    except duckdb.InterruptException:
        raise _bad(f"The query ran longer than {QUERY_TIMEOUT_S:.0f} s and was stopped.",
                   "SSS_REQUEST_TIME_EXCEEDED") from None
    except duckdb.Error as error:
        message = " ".join(str(error).split())
        raise _bad(f"Invalid search query. Search error occurred: {message}",
                   "INVALID_SEARCH") from None
    finally:
        timer.cancel()


def _page_sql(translation: Translation, limit: int, offset: int) -> str:
    return f"SELECT * FROM ({translation.sql}) AS _suiteql LIMIT {limit} OFFSET {offset}"


def _mutate_previous(translation: Translation, ctx: Context, offset: int) -> bool:
    column = _MUTABLE.get(translation.main_table or "")
    if column is None:
        return False
    keys, rows = _run(ctx.cursor, _page_sql(translation, 1, offset - 1))
    if not rows or "id" not in keys:
        return False
    record_id = rows[0][keys.index("id")]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    table = f'erp."{translation.main_table}"'
    with ctx.write_lock:
        ctx.cursor.execute(
            f"UPDATE {table} SET {column} = greatest(CAST(? AS TIMESTAMP),"
            f" (SELECT max({column}) FROM {table}) + INTERVAL 1 SECOND) WHERE id = ?",
            [now, record_id],
        )
    return True


def _link(ctx: Context, rel: str, limit: int, offset: int) -> dict[str, str]:
    query = urlencode({"limit": limit, "offset": offset})
    return {"rel": rel, "href": f"{ctx.base_url}{SUITEQL_PATH}?{query}"}


def suiteql(req: Request, ctx: Context) -> Response:
    """``POST /services/rest/query/v1/suiteql``."""
    limit = _int_param(req.query, "limit", MAX_LIMIT)
    offset = _int_param(req.query, "offset", 0)
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad(f"Invalid value for the parameter limit: {limit}. Use 1 to {MAX_LIMIT}.")
    if offset < 0 or offset % limit:
        raise _bad(f"Invalid value for the parameter offset: {offset}. "
                   "The offset must be a non-negative multiple of the limit.")
    if offset + limit > MAX_RESULTS:
        raise _bad(
            f"SuiteQL returns at most {MAX_RESULTS} results per query (offset {offset} + limit"
            f" {limit}); page by key instead, e.g. WHERE id > :last ORDER BY id."
        )
    try:
        body = json.loads(req.body or b"null")
    except ValueError:
        raise _bad("Invalid content in the request body: not JSON.", "INVALID_CONTENT") from None
    query = body.get("q") if isinstance(body, dict) else None
    if not isinstance(query, str):
        raise _bad('The request body must be {"q": "<SuiteQL query>"}.', "INVALID_CONTENT")
    try:
        translation = translate(query)
    except SuiteQLError as error:
        raise _bad(f"Invalid search query. {error}", "INVALID_SEARCH") from None
    if offset > 0 and ctx.plan.has("mutate") and _mutate_previous(translation, ctx, offset):
        ctx.record_fault("mutate")
    _, count_rows = _run(ctx.cursor, f"SELECT count(*) FROM ({translation.sql}) AS _suiteql")
    total = int(count_rows[0][0])
    duplicate = offset > 0 and ctx.plan.has("duplicate")
    if duplicate:
        keys, rows = _run(ctx.cursor, _page_sql(translation, limit + 1, offset - 1))
        served = max(0, len(rows) - 1)
        if rows:
            ctx.record_fault("duplicate")
    else:
        keys, rows = _run(ctx.cursor, _page_sql(translation, limit, offset))
        served = len(rows)
    has_more = offset + served < total
    links = []
    if offset > 0:
        links.append(_link(ctx, "previous", limit, max(0, offset - limit)))
    links.append(_link(ctx, "first", limit, 0))
    if has_more:
        links.append(_link(ctx, "next", limit, offset + limit))
    links.append(_link(ctx, "last", limit, max(0, (total - 1) // limit * limit)))
    links.append(_link(ctx, "self", limit, offset))
    return json_response(200, {
        "links": links, "count": len(rows), "hasMore": has_more, "offset": offset,
        "totalResults": total, "items": _items(keys, rows),
    })


def post_journalentry(req: Request, ctx: Context) -> Response:
    """``POST /services/rest/record/v1/journalentry``: 204 + Location, or a 400."""
    try:
        body = json.loads(req.body or b"null")
    except ValueError:
        raise _bad("Invalid content in the request body: not JSON.", "INVALID_CONTENT") from None
    entry = parse_entry(body)
    new_id = post_entry(ctx.cursor, ctx.write_lock, entry)
    if ctx.plan.has("commit_timeout"):
        ctx.record_fault("commit_timeout")
        return Response(status=204, hang_up=True)
    return Response(status=204, headers={"Location": f"{ctx.base_url}{RECORD_PATH}/{new_id}"})


def get_journalentry(key: str, req: Request, ctx: Context) -> Response:
    """``GET .../journalentry/<id>`` or ``.../journalentry/eid:<externalId>``."""
    record = read_entry(ctx.cursor, key, ctx.base_url)
    if record is None:
        raise ApiError(404, "NONEXISTENT_ID",
                       "The record instance does not exist. Provide a valid record instance ID.")
    return json_response(200, record)
