"""Support endpoints (Zendesk-shaped): organizations with entitlement fields, service credits.

``GET /api/v2/organizations`` and ``GET /api/v2/service_credits`` (a ``.json`` suffix is
accepted, as Zendesk does) page with Zendesk's cursor pagination: ``page[size]`` 1..100
(default 100), ``page[after]`` / ``page[before]`` an opaque cursor taken from the previous
answer (one of them at most), and the sandbox's ``updated_since`` filter (ISO 8601, inclusive;
no offset means UTC). The answer is::

    {"organizations": [...],                       # or "service_credits"
     "meta": {"has_more": bool, "after_cursor": str|null, "before_cursor": str|null},
     "links": {"next": url|null, "prev": url|null}}

Records are ordered by (``updated_at``, ``id``) and a cursor *is* such a key (the last or
first record's), not a position: a record that changes while a client pages moves behind
every other record and is served again in its new version, and nothing else shifts across a
page boundary, so a cursor-following client never skips a record. ``after_cursor`` and
``before_cursor`` are those of the page's last and first record (null on an empty page);
``has_more`` says whether more records follow in the direction asked, and only then is
``links.next`` (forward) or ``links.prev`` (backward) set. A malformed cursor or size is a 400
``InvalidPaginationParameter``.

Organizations look like Zendesk's, with the entitlement in ``organization_fields``
(``support_tier``, ``sla_policy``, ``covered_products`` - a list of billing product ids, as a
multiselect field sends it - ``entitlement_status``, ``valid_from``, ``valid_to``). Service
credits are flat; ``amount`` is the decimal string stored, in major units. Ids are integers,
timestamps ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``, dates ``YYYY-MM-DD``.

Faults on a page read forward after the first (``page[after]`` given): ``mutate`` bumps the
cursor record's ``updated_at`` to max(now, newest + 1 s) first (it moves to the end and is
served again there); ``duplicate`` starts the page with the cursor record again, as it is
now.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
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
from seeds.sandbox.store import public_columns, quote, sql_table

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 100
RESOURCES = {"organizations": "support/organizations",
             "service_credits": "support/service_credits"}
PATHS = {resource: f"/api/v2/{resource}" for resource in RESOURCES}
ENTITLEMENT_FIELDS = ("support_tier", "sla_policy", "covered_products", "entitlement_status",
                      "valid_from", "valid_to")
_BAD_PAGE = "InvalidPaginationParameter"

_Key = tuple[dt.datetime | None, int]  # (updated_at, id): the order and the cursor


def _bad_page(detail: str) -> ApiError:
    return ApiError(400, _BAD_PAGE, detail)


def _page_size(query: dict[str, str]) -> int:
    raw = query.get("page[size]")
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise _bad_page(f"page[size] must be an integer, got {raw!r}.") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise _bad_page(f"page[size] must be between 1 and {MAX_PAGE_SIZE}.")
    return size


def encode_cursor(key: _Key) -> str:
    """The opaque cursor of a record: its (``updated_at``, ``id``) in URL-safe base64."""
    stamp, record_id = key
    text = json.dumps([stamp.isoformat() if stamp is not None else None, int(record_id)],
                      separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, name: str) -> _Key:
    """The key a cursor from ``encode_cursor`` stands for; a 400 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, record_id = json.loads(raw)
        if isinstance(record_id, bool) or not isinstance(record_id, int):
            raise ValueError("id")
        return (None if stamp is None else dt.datetime.fromisoformat(stamp)), record_id
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise _bad_page(f"{name} is not a cursor this API issued.") from None


def _after(key: _Key) -> tuple[str, list[Any]]:
    """Records strictly after ``key`` in (``updated_at`` NULLS FIRST, ``id``) order."""
    stamp, record_id = key
    if stamp is None:
        return "(updated_at IS NOT NULL OR id > ?)", [record_id]
    return "(updated_at > ? OR (updated_at = ? AND id > ?))", [stamp, stamp, record_id]


def _before(key: _Key) -> tuple[str, list[Any]]:
    """Records strictly before ``key`` in the same order."""
    stamp, record_id = key
    if stamp is None:
        return "(updated_at IS NULL AND id < ?)", [record_id]
    return ("(updated_at IS NULL OR updated_at < ? OR (updated_at = ? AND id < ?))",
            [stamp, stamp, record_id])


def _bump(ctx: Context, table: str, record_id: int) -> bool:
    """Change a record the way an agent's edit would: its ``updated_at`` moves past every
    other record's (and never backwards). False when the record is gone."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with ctx.write_lock:
        changed = ctx.cursor.execute(
            f"UPDATE {table} SET updated_at = greatest(CAST(? AS TIMESTAMP),"
            f" (SELECT max(updated_at) FROM {table}) + INTERVAL 1 SECOND) WHERE id = ?"
            " RETURNING id", [now, record_id],
        ).fetchall()
    return bool(changed)


def _select(cur: duckdb.DuckDBPyConnection, table: str, columns: list[str], where: list[str],
            params: list[Any], *, descending: bool, limit: int) -> list[tuple[Any, ...]]:
    direction = "DESC NULLS LAST" if descending else "NULLS FIRST"
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return cur.execute(
        f"SELECT {', '.join(quote(c) for c in columns)} FROM {table}{clause}"
        f" ORDER BY updated_at {direction}, id {'DESC' if descending else ''}"
        f" LIMIT {int(limit)}", params,
    ).fetchall()


def _link(ctx: Context, resource: str, query: dict[str, str], cursor_param: str,
          cursor: str) -> str:
    params = {k: v for k, v in query.items() if k not in {"page[after]", "page[before]"}}
    params[cursor_param] = cursor
    return f"{ctx.base_url}{PATHS[resource]}?{urlencode(params)}"


def _organization(record: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A Zendesk organization object; the entitlement lives in ``organization_fields``."""
    fields = {name: json_value(record[name]) for name in ENTITLEMENT_FIELDS}
    products = record["covered_products"]
    fields["covered_products"] = None if products is None else (
        products.split(",") if products else [])
    return {
        "id": record["id"], "url": f"{base_url}{PATHS['organizations']}/{record['id']}.json",
        "name": record["name"], "external_id": record["external_id"],
        "shared_tickets": False, "shared_comments": False, "domain_names": [], "details": None,
        "notes": None, "group_id": None, "tags": [],
        "created_at": json_value(record["created_at"]),
        "updated_at": json_value(record["updated_at"]), "organization_fields": fields,
    }


def _service_credit(record: dict[str, Any], base_url: str) -> dict[str, Any]:
    body = {"id": record["id"],
            "url": f"{base_url}{PATHS['service_credits']}/{record['id']}.json"}
    body.update((name, json_value(value)) for name, value in record.items() if name != "id")
    return body


def list_resource(resource: str, req: Request, ctx: Context) -> Response:
    """``GET /api/v2/organizations`` or ``GET /api/v2/service_credits``."""
    name = RESOURCES[resource]
    size = _page_size(req.query)
    after, before = req.query.get("page[after]"), req.query.get("page[before]")
    if after and before:
        raise _bad_page("page[after] and page[before] cannot be used together.")
    raw_since = req.query.get("updated_since")
    since = parse_since(raw_since, "InvalidParameter") if raw_since else None
    table = sql_table(name)
    columns = public_columns(name)
    cur = ctx.cursor
    where: list[str] = []
    params: list[Any] = []
    if since is not None:
        where.append("updated_at >= ?")
        params.append(since)
    key: _Key | None = None
    if after:
        key = decode_cursor(after, "page[after]")
    elif before:
        key = decode_cursor(before, "page[before]")
    repeated: list[tuple[Any, ...]] = []
    if after and key is not None:
        if ctx.plan.has("mutate") and _bump(ctx, table, key[1]):
            ctx.record_fault("mutate")
        if ctx.plan.has("duplicate"):
            repeated = _select(cur, table, columns, ["id = ?"], [key[1]], descending=False,
                               limit=1)
            if repeated:
                ctx.record_fault("duplicate")
    if key is not None:
        condition, values = (_after if after else _before)(key)
        where.append(condition)
        params.extend(values)
    rows = _select(cur, table, columns, where, params, descending=bool(before), limit=size + 1)
    has_more = len(rows) > size
    rows = rows[:size]
    if before:
        rows.reverse()
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    keys = [(r["updated_at"], r["id"]) for r in records]
    render = _organization if resource == "organizations" else _service_credit
    served = [render(dict(zip(columns, row, strict=True)), ctx.base_url)
              for row in repeated] + [render(r, ctx.base_url) for r in records]
    after_cursor = encode_cursor(keys[-1]) if keys else None
    before_cursor = encode_cursor(keys[0]) if keys else None
    more_after = has_more if not before else bool(keys)
    more_before = has_more if before else bool(after and keys)
    return json_response(200, {
        resource: served,
        "meta": {"has_more": has_more, "after_cursor": after_cursor,
                 "before_cursor": before_cursor},
        "links": {
            "next": _link(ctx, resource, req.query, "page[after]", after_cursor)
            if after_cursor and more_after else None,
            "prev": _link(ctx, resource, req.query, "page[before]", before_cursor)
            if before_cursor and more_before else None,
        },
    })
