"""The posting ledger in ``ops``: batch versions, their lines and every attempt, kept for ever.

Each state change is its own small transaction written *before* the next network call, so a
crash at any point leaves a ledger that says what may have happened: an attempt left
``in_flight`` means "the ERP may hold this entry", and the poster looks the externalId up
before doing anything else with that batch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from tieout.errors import InputError

STATUSES = ("pending", "posted", "failed", "dead_letter")
POSTABLE = ("pending", "failed")


@dataclass(frozen=True)
class Line:
    """One ledger line: signed minor units (debit positive), like the ERP's foreign amount."""

    line_number: int
    account_number: str
    product_id: str
    amount_minor: int
    quantity: int
    billable_quantity: int
    event_count: int


@dataclass(frozen=True)
class Batch:
    """One batch version as the ledger holds it."""

    batch_id: str
    batch_version: int
    external_id: str
    legal_entity: str
    currency: str
    window_start: dt.datetime
    window_end: dt.datetime
    tran_date: dt.date
    accounting_period: str
    posting_period: str
    kind: str
    amount: Decimal
    status: str
    attempts: int
    erp_transaction_id: int | None
    memo: str | None
    last_error: str | None


_BATCH_COLUMNS = ("batch_id, batch_version, external_id, legal_entity, currency, window_start,"
                  " window_end, tran_date, accounting_period, posting_period, kind, amount,"
                  " status, attempts, erp_transaction_id, memo, last_error")


def _batches(con: duckdb.DuckDBPyConnection, where: str, params: list[object]) -> list[Batch]:
    rows = con.execute(f"select {_BATCH_COLUMNS} from ops.journal_batches where {where}"
                       " order by window_start, batch_id, batch_version", params).fetchall()
    return [Batch(*row) for row in rows]


def postable(con: duckdb.DuckDBPyConnection, batch_ids: list[str] | None = None) -> list[Batch]:
    """Pending and failed versions, oldest window first (optionally only ``batch_ids``)."""
    where = f"status in {POSTABLE}"
    if batch_ids is None:
        return _batches(con, where, [])
    return _batches(con, where + " and batch_id in (select unnest(?))", [batch_ids])


def list_batches(con: duckdb.DuckDBPyConnection, status: str | None = None) -> list[Batch]:
    """Every batch version, or those with ``status``."""
    if status is None:
        return _batches(con, "true", [])
    if status not in STATUSES:
        raise InputError(f"unknown journal status {status!r}; use one of {', '.join(STATUSES)}")
    return _batches(con, "status = ?", [status])


def find(con: duckdb.DuckDBPyConnection, key: str) -> list[Batch]:
    """Versions of a batch id, or the one version of an external id."""
    return _batches(con, "batch_id = ? or external_id = ?", [key, key])


def lines(con: duckdb.DuckDBPyConnection, batch: Batch) -> list[Line]:
    """The lines of one batch version, in line order."""
    rows = con.execute(
        "select line_number, account_number, product_id, amount_minor, quantity,"
        " billable_quantity, event_count from ops.journal_batch_lines"
        " where batch_id = ? and batch_version = ? order by line_number",
        [batch.batch_id, batch.batch_version]).fetchall()
    return [Line(*row) for row in rows]


def attempts(con: duckdb.DuckDBPyConnection, batch: Batch) -> list[tuple[object, ...]]:
    """Every recorded attempt of one batch version, in order."""
    return con.execute(
        "select attempt, action, started_at, finished_at, http_status, outcome, error"
        " from ops.journal_attempts where batch_id = ? and batch_version = ? order by attempt",
        [batch.batch_id, batch.batch_version]).fetchall()


def has_unsettled_attempt(con: duckdb.DuckDBPyConnection, batch: Batch) -> bool:
    """Whether any earlier POST of this version may have reached the ERP without an answer."""
    [(count,)] = con.execute(
        "select count(*) from ops.journal_attempts where batch_id = ? and batch_version = ?"
        " and action = 'post' and outcome in ('in_flight', 'unknown')",
        [batch.batch_id, batch.batch_version]).fetchall()
    return bool(count)


def begin_attempt(con: duckdb.DuckDBPyConnection, batch: Batch, action: str, run_id: str,
                  now: dt.datetime) -> int:
    """Record an attempt as ``in_flight`` (committed before the call); its number."""
    [(number,)] = con.execute(
        "select coalesce(max(attempt), 0) + 1 from ops.journal_attempts"
        " where batch_id = ? and batch_version = ?",
        [batch.batch_id, batch.batch_version]).fetchall()
    con.execute("insert into ops.journal_attempts values (?, ?, ?, ?, ?, null, null,"
                " 'in_flight', null, ?)",
                [batch.batch_id, batch.batch_version, number, action, now, run_id]).fetchall()
    return int(number)


def end_attempt(con: duckdb.DuckDBPyConnection, batch: Batch, number: int, outcome: str,
                status: int | None, error: str | None, now: dt.datetime) -> None:
    """Record how an attempt ended."""
    con.execute("update ops.journal_attempts set finished_at = ?, outcome = ?, http_status = ?,"
                " error = ? where batch_id = ? and batch_version = ? and attempt = ?",
                [now, outcome, status, error, batch.batch_id, batch.batch_version,
                 number]).fetchall()


def set_status(con: duckdb.DuckDBPyConnection, batch: Batch, status: str, now: dt.datetime, *,
               count_attempt: bool = False, error: str | None = None,
               erp_transaction_id: int | None = None, posting_period: str | None = None,
               memo: str | None = None) -> None:
    """Move a version to ``status``; a posted version is never changed again."""
    if status not in STATUSES:
        raise ValueError(f"unknown journal status {status!r}")
    con.execute(
        "update ops.journal_batches set status = ?, updated_at = ?,"
        " attempts = attempts + ?, last_error = ?,"
        " erp_transaction_id = coalesce(?, erp_transaction_id),"
        " posting_period = coalesce(?, posting_period), memo = coalesce(?, memo),"
        " posted_at = case when ? = 'posted' then ? else posted_at end"
        " where batch_id = ? and batch_version = ? and status <> 'posted'",
        [status, now, 1 if count_attempt else 0, error, erp_transaction_id, posting_period,
         memo, status, now, batch.batch_id, batch.batch_version]).fetchall()


def requeue(con: duckdb.DuckDBPyConnection, batch: Batch, now: dt.datetime) -> None:
    """A dead-lettered version back to pending with a fresh attempt budget (replay)."""
    con.execute("update ops.journal_batches set status = 'pending', attempts = 0,"
                " updated_at = ? where batch_id = ? and batch_version = ?"
                " and status = 'dead_letter'",
                [now, batch.batch_id, batch.batch_version]).fetchall()


def unbalanced(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int]]:
    """Postable versions whose lines do not sum to zero: (batch id, version, imbalance).

    Every version is one entry in one currency, so debits = credits per entry and currency
    is exactly "the signed lines sum to zero"; a version without lines is unbalanced too.
    """
    return [(str(b), int(v), int(d)) for b, v, d in con.execute(
        "select batches.batch_id, batches.batch_version,"
        " coalesce(sum(lines.amount_minor), 0) + case when count(lines.line_number) < 2"
        " then 1 else 0 end as imbalance"
        " from ops.journal_batches as batches left join ops.journal_batch_lines as lines"
        " on lines.batch_id = batches.batch_id and lines.batch_version = batches.batch_version"
        f" where batches.status in {POSTABLE}"
        " group by all having imbalance <> 0 order by 1, 2").fetchall()]
