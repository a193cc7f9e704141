"""Journal entries posted through the NetSuite-shaped record API: validate, insert, read back.

The usage-journal poster (DESIGN §7) must be idempotent by ``externalId`` and must confirm a
posting whose response was lost by looking it up, never by posting twice. The sandbox gives it
something real to be idempotent against:

- ``POST .../record/v1/journalentry`` validates like NetSuite would (required fields, known
  subsidiary/currency/accounts/period, balanced debits and credits, open period) and inserts one
  ``transaction`` row (type ``Journal``, status ``B`` = approved for posting, ``foreigntotal`` =
  total debits, ``tranid`` ``JE<id>``, created/last-modified = now, UTC, whole seconds) and one
  ``transactionline`` per line (``foreignamount`` signed: debit positive, credit negative;
  ``mainline`` ``F``; ``linesequencenumber`` from 0), in one DuckDB transaction so SuiteQL never
  sees half an entry. ``postingPeriod`` defaults to the (non-summary, non-adjustment) period
  containing ``tranDate``.
- ``externalId`` is required by the sandbox (NetSuite makes it optional, but the poster relies
  on it). Posting an ``externalId`` that a journal already carries creates nothing and answers
  400 with ``o:errorCode`` ``DUP_RCRD`` naming the externalId: the caller learns the entry
  exists and can read it with ``GET .../journalentry/eid:<externalId>``. (NetSuite's upsert is
  ``PUT .../eid:<externalId>``; the sandbox does not implement PUT.)
- Amounts may be JSON numbers or decimal strings with at most two decimals; each line carries
  exactly one of ``debit``/``credit``, positive.
- The read-back answers NetSuite's record shape: ``id``, ``externalId``, ``tranId``,
  ``tranDate`` (``YYYY-MM-DD``), ``postingPeriod``/``subsidiary``/``currency`` as
  ``{"id", "refName"}``, ``memo``, and ``line.items`` with ``debit``/``credit`` as JSON numbers.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb

from seeds.sandbox.protocol import ApiError

RECORD_PATH = "/services/rest/record/v1/journalentry"


@dataclass(frozen=True)
class JournalLine:
    account: int
    amount: Decimal  # signed: debit positive, credit negative
    memo: str | None


@dataclass(frozen=True)
class JournalEntry:
    external_id: str
    subsidiary: int
    currency: int
    tran_date: dt.date
    posting_period: int | None
    memo: str | None
    exchange_rate: Decimal
    lines: tuple[JournalLine, ...]


def _bad(detail: str, code: str = "INVALID_FLD_VALUE") -> ApiError:
    return ApiError(400, code, detail)


def _ref(body: dict[str, Any], field: str, *, required: bool = True) -> int | None:
    value = body.get(field)
    if value is None:
        if required:
            raise _bad(f"Please enter value(s) for: {field}.", "USER_ERROR")
        return None
    if not isinstance(value, dict) or "id" not in value:
        raise _bad(f"Invalid value for field {field}: expected an object like {{\"id\": \"1\"}}.")
    try:
        return int(str(value["id"]))
    except ValueError:
        raise _bad(f"Invalid reference key {value['id']!r} for field {field}.",
                   "INVALID_KEY_OR_REF") from None


def _amount(value: object, field: str, line_no: int) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(f"line {line_no}: {field} must be a number or a decimal string.")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise _bad(f"line {line_no}: {field} {value!r} is not a number.") from None
    if not amount.is_finite() or amount < 0:
        raise _bad(f"line {line_no}: {field} must be a non-negative amount.")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise _bad(f"line {line_no}: {field} {value} has more than two decimal places.")
    return amount.quantize(Decimal("0.01"))


def _text(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"Invalid value for field {field}: expected a string.")
    return value


def parse_entry(body: object) -> JournalEntry:
    """Validate the shape of a POST body (no database look-ups yet)."""
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.", "INVALID_CONTENT")
    external_id = _text(body, "externalId")
    if not external_id:
        raise _bad("Please enter value(s) for: externalId (required by the sandbox).",
                   "USER_ERROR")
    raw_date = body.get("tranDate")
    if not isinstance(raw_date, str):
        raise _bad("Please enter value(s) for: tranDate (YYYY-MM-DD).", "USER_ERROR")
    try:
        tran_date = dt.date.fromisoformat(raw_date)
    except ValueError:
        raise _bad(f"Invalid tranDate {raw_date!r}: use YYYY-MM-DD.") from None
    rate = body.get("exchangeRate", 1)
    try:
        exchange_rate = Decimal(str(rate))
    except InvalidOperation:
        raise _bad(f"Invalid exchangeRate {rate!r}.") from None
    if not exchange_rate.is_finite() or exchange_rate <= 0:
        raise _bad(f"Invalid exchangeRate {rate!r}.")
    sublist = body.get("line")
    items = sublist.get("items") if isinstance(sublist, dict) else None
    if not isinstance(items, list) or not items:
        raise _bad("Please enter value(s) for: line.items (at least two lines).", "USER_ERROR")
    lines = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise _bad(f"line {number}: expected an object.")
        account = _ref(item, "account")
        assert account is not None
        debit = _amount(item.get("debit"), "debit", number)
        credit = _amount(item.get("credit"), "credit", number)
        if (debit is None or debit == 0) == (credit is None or credit == 0):
            raise _bad(f"line {number}: give exactly one of debit or credit, and not zero.")
        amount = debit if debit else -(credit or Decimal(0))
        lines.append(JournalLine(account=account, amount=amount, memo=_text(item, "memo")))
    debits = sum((line.amount for line in lines if line.amount > 0), Decimal(0))
    credits = sum((-line.amount for line in lines if line.amount < 0), Decimal(0))
    if debits != credits:
        raise _bad(
            f"The journal entry is out of balance: debits {debits} != credits {credits}.",
            "USER_ERROR",
        )
    subsidiary = _ref(body, "subsidiary")
    currency = _ref(body, "currency")
    assert subsidiary is not None and currency is not None
    return JournalEntry(
        external_id=external_id, subsidiary=subsidiary, currency=currency,
        tran_date=tran_date, posting_period=_ref(body, "postingPeriod", required=False),
        memo=_text(body, "memo"), exchange_rate=exchange_rate, lines=tuple(lines),
    )


def _period(cur: duckdb.DuckDBPyConnection, entry: JournalEntry) -> int:
    if entry.posting_period is not None:
        row = cur.execute(
            "SELECT id, periodname, closed, isquarter, isyear FROM erp.accountingperiod"
            " WHERE id = ?", [entry.posting_period],
        ).fetchone()
        if row is None:
            raise _bad(f"Invalid postingPeriod reference key {entry.posting_period}.",
                       "INVALID_KEY_OR_REF")
        if "T" in (row[3], row[4]):
            raise _bad(f"postingPeriod {row[1]!r} is a summary period; post to a month.")
    else:
        row = cur.execute(
            "SELECT id, periodname, closed FROM erp.accountingperiod"
            " WHERE startdate <= ? AND enddate >= ? AND coalesce(isquarter, 'F') <> 'T'"
            " AND coalesce(isyear, 'F') <> 'T' AND coalesce(isadjust, 'F') <> 'T'"
            " ORDER BY startdate DESC, id LIMIT 1", [entry.tran_date, entry.tran_date],
        ).fetchone()
        if row is None:
            raise _bad(f"No accounting period contains tranDate {entry.tran_date.isoformat()}.")
    if row[2] == "T":
        raise _bad(f"The accounting period {row[1]!r} is closed; post to an open period.",
                   "INVALID_FLD_VALUE")
    return int(row[0])


def _exists(cur: duckdb.DuckDBPyConnection, table: str, key: int) -> bool:
    return cur.execute(f"SELECT 1 FROM erp.{table} WHERE id = ?", [key]).fetchone() is not None


def post_entry(cur: duckdb.DuckDBPyConnection, lock: threading.Lock, entry: JournalEntry) -> int:
    """Validate against the ERP tables and insert; the new transaction id. Raises ApiError."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with lock:
        existing = cur.execute(
            "SELECT id FROM erp.transaction WHERE type = 'Journal' AND externalid = ? LIMIT 1",
            [entry.external_id],
        ).fetchone()
        if existing is not None:
            raise _bad(
                f"A journal entry with externalId {entry.external_id!r} already exists"
                f" (id {existing[0]}).", "DUP_RCRD",
            )
        if not _exists(cur, "subsidiary", entry.subsidiary):
            raise _bad(f"Invalid subsidiary reference key {entry.subsidiary}.",
                       "INVALID_KEY_OR_REF")
        if not _exists(cur, "currency", entry.currency):
            raise _bad(f"Invalid currency reference key {entry.currency}.", "INVALID_KEY_OR_REF")
        accounts = sorted({line.account for line in entry.lines})
        known = {row[0] for row in cur.execute(
            "SELECT id FROM erp.account WHERE id IN (SELECT unnest(?))", [accounts]
        ).fetchall()}
        for account in accounts:
            if account not in known:
                raise _bad(f"Invalid account reference key {account}.", "INVALID_KEY_OR_REF")
        period = _period(cur, entry)
        total = sum((line.amount for line in entry.lines if line.amount > 0), Decimal(0))
        cur.execute("BEGIN TRANSACTION")
        try:
            new_id = cur.execute(
                "SELECT coalesce(max(id), 0) + 1 FROM erp.transaction"
            ).fetchone()[0]  # type: ignore[index]
            first_line = cur.execute(
                "SELECT coalesce(max(id), 0) + 1 FROM erp.transactionline"
            ).fetchone()[0]  # type: ignore[index]
            cur.execute(
                "INSERT INTO erp.transaction (id, tranid, type, externalid, entity, subsidiary,"
                " currency, exchangerate, trandate, postingperiod, status, voided, foreigntotal,"
                " foreignamountremaining, appliedto, memo, duedate, createddate, lastmodifieddate)"
                " VALUES (?, ?, 'Journal', ?, NULL, ?, ?, ?, ?, ?, 'B', 'F', ?, NULL, NULL, ?,"
                " NULL, ?, ?)",
                [new_id, f"JE{new_id}", entry.external_id, entry.subsidiary, entry.currency,
                 entry.exchange_rate, entry.tran_date, period, total, entry.memo or None,
                 now, now],
            )
            cur.executemany(
                "INSERT INTO erp.transactionline (id, transaction, linesequencenumber, mainline,"
                " taxline, account, foreignamount, memo, subsidiary, custcol_invoice_line,"
                " linelastmodifieddate) VALUES (?, ?, ?, 'F', 'F', ?, ?, ?, ?, NULL, ?)",
                [[first_line + index, new_id, index, line.account, line.amount,
                  line.memo or None, entry.subsidiary, now]
                 for index, line in enumerate(entry.lines)],
            )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    return int(new_id)


def _ref_out(key: object, name: object) -> dict[str, str] | None:
    if key is None:
        return None
    out = {"id": str(key)}
    if name is not None:
        out["refName"] = str(name)
    return out


def read_entry(cur: duckdb.DuckDBPyConnection, key: str, base_url: str) -> dict[str, Any] | None:
    """The journal entry ``key`` (an internal id, or ``eid:<externalId>``) as NetSuite JSON."""
    if key.startswith("eid:"):
        where, param = "t.externalid = ?", key[4:]
    else:
        try:
            where, param = "t.id = ?", int(key)  # type: ignore[assignment]
        except ValueError:
            return None
    row = cur.execute(
        "SELECT t.id, t.externalid, t.tranid, t.trandate, t.postingperiod, p.periodname,"
        " t.subsidiary, s.name, t.currency, c.symbol, t.memo, t.exchangerate, t.createddate,"
        " t.lastmodifieddate FROM erp.transaction t"
        " LEFT JOIN erp.accountingperiod p ON p.id = t.postingperiod"
        " LEFT JOIN erp.subsidiary s ON s.id = t.subsidiary"
        " LEFT JOIN erp.currency c ON c.id = t.currency"
        f" WHERE t.type = 'Journal' AND {where} ORDER BY t.id LIMIT 1", [param],
    ).fetchone()
    if row is None:
        return None
    lines = cur.execute(
        "SELECT l.linesequencenumber, l.account, a.acctnumber, a.fullname, l.foreignamount,"
        " l.memo FROM erp.transactionline l LEFT JOIN erp.account a ON a.id = l.account"
        " WHERE l.transaction = ? ORDER BY l.linesequencenumber, l.id", [row[0]],
    ).fetchall()
    items = []
    for line_no, account, acctnumber, fullname, amount, memo in lines:
        label = " ".join(str(part) for part in (acctnumber, fullname) if part)
        item: dict[str, Any] = {"line": line_no, "account": _ref_out(account, label or None)}
        if amount is not None and amount > 0:
            item["debit"] = float(amount)
        elif amount is not None and amount < 0:
            item["credit"] = float(-amount)
        if memo is not None:
            item["memo"] = memo
        items.append(item)
    record: dict[str, Any] = {
        "links": [{"rel": "self", "href": f"{base_url}{RECORD_PATH}/{row[0]}"}],
        "id": str(row[0]),
        "externalId": row[1],
        "tranId": row[2],
        "tranDate": row[3].isoformat() if row[3] else None,
        "postingPeriod": _ref_out(row[4], row[5]),
        "subsidiary": _ref_out(row[6], row[7]),
        "currency": _ref_out(row[8], row[9]),
        "memo": row[10],
        "exchangeRate": float(row[11]) if row[11] is not None else None,
        "createdDate": row[12].strftime("%Y-%m-%dT%H:%M:%SZ") if row[12] else None,
        "lastModifiedDate": row[13].strftime("%Y-%m-%dT%H:%M:%SZ") if row[13] else None,
        "line": {"items": items, "totalResults": len(items)},
    }
    return {key: value for key, value in record.items() if value is not None}
