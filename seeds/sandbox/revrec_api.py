"""Revrec endpoint: revenue schedules with nested lines, page-number pagination.

``GET /api/v1/revenue_schedules?page=N&page_size=M&updated_since=ISO8601`` answers
``{"count", "page", "next", "previous", "results"}`` (Django REST framework's shape, with full
``next``/``previous`` URLs or null), ordered by (``updated_at``, ``id``). ``page`` starts at 1;
a page past the end is 404 "Invalid page." (page 1 of nothing is an empty 200). ``page_size``
1..500, default 100. ``updated_since`` is inclusive (``updated_at >= since``); a value without
a UTC offset is read as UTC. Timestamps are served as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``, dates
as ``YYYY-MM-DD``, amounts as the decimal strings stored.

Positions are found with the ``_rseq`` order key (see ``store``) rather than OFFSET over a sort.

Faults on a page after the first: ``duplicate`` starts the page with the previous page's last
schedule; ``mutate`` bumps that schedule's ``updated_at`` to max(now, newest + 1 s) before the
page is read. Because the order is by ``updated_at``, the bumped schedule moves to the end (it
will be served again) and every later schedule moves up one place - so, exactly as with the
real API, a client that only follows page numbers skips one schedule; it must re-read with
``updated_since`` (or page by it) to see everything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import duckdb

from seeds.sandbox.protocol import (
    ApiError,
    Context,
    Request,
    Response,
    json_response,
    json_value,
    parse_since,
)
from seeds.sandbox.store import REVREC_LINES, REVREC_SCHEDULES, public_columns, sql_table

PATH = "/api/v1/revenue_schedules"
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
_LINE_FIELDS = ("line_number", "period", "amount", "status")


def _bad(detail: str) -> ApiError:
    return ApiError(400, "invalid_parameter", detail)


def _positive_int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(f"{name} must be an integer, got {raw!r}.") from None
    if value < 1:
        raise _bad(f"{name} must be at least 1.")
    return value


def _rows_at(cur: duckdb.DuckDBPyConnection, columns: list[str], start_rseq: int, position: int,
             count: int) -> list[tuple[Any, ...]]:
    """``count`` schedules from ``position`` (0-based) of the order that starts at ``start_rseq``.

    Rows from ``start_rseq`` on all qualify (the order key follows ``updated_at``); bumped rows
    leave gaps, so the first guess ``start_rseq + position`` is corrected by the gap count.
    """
    table = sql_table(REVREC_SCHEDULES)
    guess = start_rseq + position
    before = cur.execute(
        f"SELECT count(*) FROM {table} WHERE _rseq >= ? AND _rseq < ?", [start_rseq, guess]
    ).fetchone()
    skip = position - int(before[0]) if before else 0
    select = ", ".join(f'"{column}"' for column in columns)
    return cur.execute(
        f"SELECT {select}, _sidx FROM {table} WHERE _rseq >= ? ORDER BY _rseq"
        f" LIMIT {int(count)} OFFSET {int(skip)}", [guess],
    ).fetchall()


def _bump(ctx: Context, row_id: str) -> None:
    table = sql_table(REVREC_SCHEDULES)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with ctx.write_lock:
        ctx.cursor.execute(
            f"UPDATE {table} SET updated_at = greatest(CAST(? AS TIMESTAMP),"
            f" (SELECT max(updated_at) FROM {table}) + INTERVAL 1 SECOND),"
            f" _rseq = (SELECT max(_rseq) FROM {table}) + 1 WHERE id = ?", [now, row_id],
        )


def _url(ctx: Context, query: dict[str, str], page: int) -> str:
    params = dict(query)
    params["page"] = str(page)
    return f"{ctx.base_url}{PATH}?{urlencode(params)}"


def list_schedules(req: Request, ctx: Context) -> Response:
    """``GET /api/v1/revenue_schedules``."""
    page = _positive_int(req.query, "page", 1)
    size = _positive_int(req.query, "page_size", DEFAULT_PAGE_SIZE)
    if size > MAX_PAGE_SIZE:
        raise _bad(f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
    raw_since = req.query.get("updated_since")
    since = parse_since(raw_since) if raw_since else None
    table = sql_table(REVREC_SCHEDULES)
    where, params = ("WHERE updated_at >= ?", [since]) if since is not None else ("", [])
    cur = ctx.cursor
    columns = public_columns(REVREC_SCHEDULES)
    offset = (page - 1) * size

    def locate() -> tuple[int, int | None]:
        row = cur.execute(f"SELECT count(*), min(_rseq) FROM {table} {where}", params).fetchone()
        assert row is not None
        return int(row[0]), row[1]

    total, start = locate()
    if offset and offset >= total:
        raise ApiError(404, "not_found", "Invalid page.")
    if offset and start is not None and ctx.plan.has("mutate"):
        previous = _rows_at(cur, ["id"], start, offset - 1, 1)
        if previous:
            _bump(ctx, previous[0][0])
            ctx.record_fault("mutate")
            total, start = locate()
    rows: list[tuple[Any, ...]] = []
    if start is not None:
        if offset and ctx.plan.has("duplicate"):
            rows = _rows_at(cur, columns, start, offset - 1, size + 1)
            ctx.record_fault("duplicate")
        else:
            rows = _rows_at(cur, columns, start, offset, size)
    results = [
        {column: json_value(value) for column, value in zip(columns, row, strict=False)}
        for row in rows
    ]
    _embed_lines(cur, results, [row[-1] for row in rows])
    has_next = offset + size < total
    return json_response(200, {
        "count": total, "page": page,
        "next": _url(ctx, req.query, page + 1) if has_next else None,
        "previous": _url(ctx, req.query, page - 1) if page > 1 else None,
        "results": results,
    })


def _embed_lines(cur: duckdb.DuckDBPyConnection, results: list[dict[str, Any]],
                 keys: list[int]) -> None:
    by_schedule: dict[int, list[dict[str, Any]]] = {key: [] for key in keys}
    if keys:
        key_list = ",".join(str(int(key)) for key in keys)
        rows = cur.execute(
            f"SELECT {', '.join(_LINE_FIELDS)}, _sidx FROM {sql_table(REVREC_LINES)}"
            f" WHERE _sidx IN ({key_list}) AND _sidx BETWEEN {min(keys)} AND {max(keys)}"
            " ORDER BY _sidx, line_number"
        ).fetchall()
        for row in rows:
            by_schedule[row[-1]].append(dict(zip(_LINE_FIELDS, row[:-1], strict=True)))
    for result, key in zip(results, keys, strict=True):
        result["lines"] = by_schedule[key]
