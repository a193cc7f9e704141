"""Stripe-shaped billing endpoints: list objects, cursors, embedded lines.

Imitates what the billing connector meets in production (DESIGN §3): ``GET /v1/<resource>``
answers ``{"object": "list", "data", "has_more", "url"}``, newest first (``created`` desc,
``id`` desc), ``limit`` 1..100 (default 10), cursors ``starting_after``/``ending_before``,
filters ``created[gt|gte|lt|lte]`` (and ``created=<ts>``). Invoices and credit notes embed a
``lines`` list of at most ``embed_lines`` entries with ``has_more`` and the URL of the full,
paginated ``/v1/invoices/<id>/lines`` (resp. ``/v1/credit_notes/<id>/lines``) list;
subscriptions embed all their ``items``. Unknown parameters are rejected like Stripe does, so a
typo in a connector fails loudly.

Sandbox extension (not in Stripe): ``updated[gt|gte|lt|lte]`` filters on the ``updated`` epoch
column, so an incremental client can pick up changed records. Equality filters ``customer``,
``status``, ``subscription`` (invoices), ``invoice`` (credit notes) and ``product`` (prices)
are accepted where Stripe has them; ``expand[]`` is accepted and ignored (lines are always
embedded).

Pages are read with precomputed order keys (see ``store``), never by scanning in Python.
Faults: ``duplicate`` repeats the ``starting_after`` record (the previous page's last) at the
start of the page; ``mutate`` bumps that record's ``updated`` to max(now, newest ``updated`` +
1) before the page is read - its position (by ``created``) does not change.
"""

from __future__ import annotations

import time
from typing import Any

import duckdb

from seeds.sandbox.protocol import ApiError, Context, Request, Response, json_response
from seeds.sandbox.store import (
    BILLING_CHILDREN,
    BILLING_LISTS,
    ChildTable,
    public_columns,
    sql_table,
)

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
_RANGE_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_EQ_FILTERS: dict[str, tuple[str, ...]] = {
    "customers": (),
    "subscriptions": ("customer", "status"),
    "invoices": ("customer", "status", "subscription"),
    "credit_notes": ("customer", "status", "invoice"),
    "products": (),
    "prices": ("product",),
}
_CURSOR_PARAMS = {"limit", "starting_after", "ending_before", "expand", "expand[]"}
# Which child list each parent embeds, under which key, capped or not.
_EMBEDS: dict[str, tuple[str, str, bool]] = {
    "invoices": ("invoice_lines", "lines", True),
    "credit_notes": ("credit_note_lines", "lines", True),
    "subscriptions": ("subscription_items", "items", False),
}
CHILD_LISTS = {"invoices": "invoice_lines", "credit_notes": "credit_note_lines"}


def _invalid(message: str, param: str | None, code: str = "parameter_invalid_integer") -> ApiError:
    return ApiError(400, code, message, param=param)


def parse_limit(query: dict[str, str]) -> int:
    """``limit`` as Stripe validates it."""
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise _invalid(f"Invalid integer: {raw}", "limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid(
            f"Invalid integer: {raw}. limit must be between 1 and {MAX_LIMIT}.", "limit"
        )
    return limit


def _int_param(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise _invalid(f"Invalid integer: {raw}", name) from None


def _check_params(query: dict[str, str], allowed: set[str]) -> None:
    for name in query:
        if name not in allowed:
            raise _invalid(f"Received unknown parameter: {name}", name, code="parameter_unknown")
    if "starting_after" in query and "ending_before" in query:
        raise _invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            "ending_before", code="parameter_invalid_empty",
        )


def _filters(resource: str, query: dict[str, str]) -> tuple[list[str], list[Any], set[str]]:
    """WHERE clauses and parameters for the list filters; also returns the names consumed."""
    clauses: list[str] = []
    params: list[Any] = []
    names: set[str] = set()
    for column in ("created", "updated"):
        if column in query:
            names.add(column)
            clauses.append(f"{column} = ?")
            params.append(_int_param(column, query[column]))
        for op, sql_op in _RANGE_OPS.items():
            name = f"{column}[{op}]"
            if name in query:
                names.add(name)
                clauses.append(f"{column} {sql_op} ?")
                params.append(_int_param(name, query[name]))
    for column in _EQ_FILTERS[resource]:
        if column in query:
            names.add(column)
            clauses.append(f"{column} = ?")
            params.append(query[column])
    return clauses, params, names


def _objects(columns: list[str], rows: list[tuple[Any, ...]], obj: str) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        record: dict[str, Any] = {"id": row[0], "object": obj}
        record.update(zip(columns[1:], row[1:len(columns)], strict=True))
        out.append(record)
    return out


def _select(columns: list[str]) -> str:
    return ", ".join(f'"{column}"' for column in columns)


def _embed(cur: duckdb.DuckDBPyConnection, parent_resource: str, records: list[dict[str, Any]],
           seqs: list[int], embed_lines: int) -> None:
    child_name, key, capped = _EMBEDS[parent_resource]
    child = BILLING_CHILDREN[child_name]
    columns = public_columns(child.name)
    cap = embed_lines if capped else None
    if not seqs:
        return
    seq_list = ",".join(str(int(seq)) for seq in seqs)
    sql = (
        f"SELECT {_select(columns)}, _pseq FROM {sql_table(child.name)}"
        f" WHERE _pseq IN ({seq_list}) AND _pseq BETWEEN {min(seqs)} AND {max(seqs)}"
    )
    if cap is not None:
        sql += f" AND _pos <= {cap + 1}"
    rows = cur.execute(sql + " ORDER BY _pseq, _pos").fetchall()
    by_parent: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_parent.setdefault(row[-1], []).append(row)
    for record, seq in zip(records, seqs, strict=True):
        children = by_parent.get(seq, [])
        has_more = cap is not None and len(children) > cap
        if has_more:
            children = children[:cap]
        if parent_resource == "subscriptions":
            url = f"/v1/subscription_items?subscription={record['id']}"
        else:
            url = f"/v1/{parent_resource}/{record['id']}/lines"
        record[key] = {
            "object": "list", "data": _objects(columns, children, child.object),
            "has_more": has_more, "url": url,
        }


def _bump_updated(ctx: Context, table: str, seq: int) -> None:
    now = int(time.time())
    with ctx.write_lock:
        ctx.cursor.execute(
            f"UPDATE {table} SET updated = greatest(?, (SELECT max(updated) FROM {table}) + 1)"
            " WHERE _seq = ?", [now, seq],
        )


def list_resource(resource: str, req: Request, ctx: Context) -> Response:
    """``GET /v1/<resource>``."""
    spec = BILLING_LISTS[resource]
    table = sql_table(spec.name)
    clauses, params, filter_names = _filters(resource, req.query)
    _check_params(req.query, _CURSOR_PARAMS | filter_names)
    limit = parse_limit(req.query)
    columns = public_columns(spec.name)
    cur = ctx.cursor
    prepend: list[tuple[Any, ...]] = []
    if "ending_before" in req.query:
        seq = _seq_of(cur, table, req.query["ending_before"], spec.object, "ending_before")
        where = " AND ".join(["_seq < ?", *clauses])
        rows = cur.execute(
            f"SELECT {_select(columns)}, _seq FROM {table} WHERE {where}"
            f" ORDER BY _seq DESC LIMIT {limit + 1}", [seq, *params],
        ).fetchall()
        has_more = len(rows) > limit
        rows = list(reversed(rows[:limit]))
    else:
        seq = -1
        if "starting_after" in req.query:
            seq = _seq_of(cur, table, req.query["starting_after"], spec.object, "starting_after")
            if ctx.plan.has("mutate") and spec.has_updated:
                _bump_updated(ctx, table, seq)
                ctx.record_fault("mutate")
            if ctx.plan.has("duplicate"):
                prepend = cur.execute(
                    f"SELECT {_select(columns)}, _seq FROM {table} WHERE _seq = ?", [seq]
                ).fetchall()
                ctx.record_fault("duplicate")
        where = " AND ".join(["_seq > ?", *clauses])
        rows = cur.execute(
            f"SELECT {_select(columns)}, _seq FROM {table} WHERE {where}"
            f" ORDER BY _seq LIMIT {limit + 1}", [seq, *params],
        ).fetchall()
        has_more = len(rows) > limit
        rows = prepend + rows[:limit]
    records = _objects(columns, rows, spec.object)
    if resource in _EMBEDS:
        _embed(cur, resource, records, [row[-1] for row in rows], ctx.embed_lines)
    return json_response(200, {
        "object": "list", "data": records, "has_more": has_more, "url": f"/v1/{resource}",
    })


def _seq_of(cur: duckdb.DuckDBPyConnection, table: str, object_id: str, obj: str,
            param: str) -> int:
    row = cur.execute(f"SELECT _seq FROM {table} WHERE id = ?", [object_id]).fetchone()
    if row is None:
        raise ApiError(400, "resource_missing", f"No such {obj}: '{object_id}'", param=param)
    return int(row[0])


def _pos_of(cur: duckdb.DuckDBPyConnection, child: ChildTable, parent_seq: int, line_id: str,
            param: str) -> int:
    row = cur.execute(
        f"SELECT _pos FROM {sql_table(child.name)} WHERE _pseq = ? AND id = ?",
        [parent_seq, line_id],
    ).fetchone()
    if row is None:
        raise ApiError(400, "resource_missing", f"No such {child.object}: '{line_id}'",
                       param=param)
    return int(row[0])


def list_lines(parent_resource: str, parent_id: str, req: Request, ctx: Context) -> Response:
    """``GET /v1/invoices/<id>/lines`` and ``GET /v1/credit_notes/<id>/lines``, in line order."""
    parent = BILLING_LISTS[parent_resource]
    child = BILLING_CHILDREN[CHILD_LISTS[parent_resource]]
    _check_params(req.query, _CURSOR_PARAMS)
    limit = parse_limit(req.query)
    cur = ctx.cursor
    row = cur.execute(
        f"SELECT _seq FROM {sql_table(parent.name)} WHERE id = ?", [parent_id]
    ).fetchone()
    if row is None:
        raise ApiError(404, "resource_missing", f"No such {parent.object}: '{parent_id}'",
                       param="id")
    parent_seq = int(row[0])
    table = sql_table(child.name)
    columns = public_columns(child.name)
    select = f"SELECT {_select(columns)} FROM {table} WHERE _pseq = ?"
    prepend: list[tuple[Any, ...]] = []
    if "ending_before" in req.query:
        pos = _pos_of(cur, child, parent_seq, req.query["ending_before"], "ending_before")
        rows = cur.execute(
            f"{select} AND _pos < ? ORDER BY _pos DESC LIMIT {limit + 1}", [parent_seq, pos]
        ).fetchall()
        has_more = len(rows) > limit
        rows = list(reversed(rows[:limit]))
    else:
        pos = 0
        if "starting_after" in req.query:
            pos = _pos_of(cur, child, parent_seq, req.query["starting_after"], "starting_after")
            if ctx.plan.has("duplicate"):
                prepend = cur.execute(f"{select} AND _pos = ?", [parent_seq, pos]).fetchall()
                ctx.record_fault("duplicate")
        rows = cur.execute(
            f"{select} AND _pos > ? ORDER BY _pos LIMIT {limit + 1}", [parent_seq, pos]
        ).fetchall()
        has_more = len(rows) > limit
        rows = prepend + rows[:limit]
    return json_response(200, {
        "object": "list", "data": _objects(columns, rows, child.object), "has_more": has_more,
        "url": f"/v1/{parent_resource}/{parent_id}/lines",
    })
