"""Reading the review state: filtered lists, one exception with its trail, ageing buckets.

The CLI, the workbook and the close report all read through here, so a controller sees the
same exceptions, ages and amounts wherever they look.  Amounts stay ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import duckdb

from .status import Status
from .sync import AUDIT, REVIEW

# What a review row carries, in order (the snapshot, then the review fields).
REVIEW_COLUMNS = (
    "exception_id", "rule", "severity", "natural_key", "entity", "currency", "period",
    "timing_status", "billing_amount", "other_system", "other_amount", "difference",
    "reporting_currency", "difference_reporting", "is_material", "reason", "billing_ref",
    "erp_ref", "revrec_ref", "support_ref", "status", "owner", "note", "resolution", "is_present",
    "first_seen_at", "last_seen_at", "status_changed_at", "updated_at", "updated_by",
    "revision", "age_days",
)
AUDIT_COLUMNS = ("changed_at", "actor", "action", "field", "old_value", "new_value", "reason",
                 "run_id", "revision")
# Ageing buckets in days since first detection: (label, lowest age, highest age or None).
AGEING_BUCKETS = (("0-7 days", 0, 7), ("8-30 days", 8, 30), ("31-60 days", 31, 60),
                  ("61-90 days", 61, 90), ("over 90 days", 91, None))


class Sort(StrEnum):
    """Orders ``exceptions list`` offers."""

    amount = "amount"  # largest |difference in reporting currency| first
    age = "age"  # oldest first
    rule = "rule"
    period = "period"
    status = "status"


_ORDER = {
    Sort.amount: "abs(difference_reporting) DESC NULLS LAST, exception_id",
    Sort.age: "first_seen_at, exception_id",
    Sort.rule: "rule, natural_key, exception_id",
    Sort.period: "period NULLS FIRST, rule, natural_key, exception_id",
    Sort.status: "status, rule, natural_key, exception_id",
}


@dataclass(frozen=True)
class Filters:
    """What ``exceptions list`` (and the export) narrow the review state to."""

    rule: str | None = None
    status: Status | None = None
    owner: str | None = None
    entity: str | None = None
    period: str | None = None
    min_amount: Decimal | None = None  # |difference in reporting currency| at least this
    current_only: bool = False  # only what the latest run detected


def has_review(con: duckdb.DuckDBPyConnection) -> bool:
    """True once a run has written the review state (older warehouses have none)."""
    [(count,)] = con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                             "table_schema = 'ops' AND table_name = 'exception_review'"
                             ).fetchall()
    return bool(count)


def list_review(con: duckdb.DuckDBPyConnection, filters: Filters = Filters(),
                sort: Sort = Sort.rule, now: dt.datetime | None = None
                ) -> list[dict[str, Any]]:
    """Review rows matching ``filters`` as dicts keyed by ``REVIEW_COLUMNS``."""
    clauses, params = _where(filters)
    now = now or dt.datetime.now(dt.UTC)
    rows = con.execute(f"""
        SELECT {', '.join(REVIEW_COLUMNS[:-1])},
               date_diff('day', first_seen_at, ?::TIMESTAMPTZ) AS age_days
        FROM {REVIEW} {('WHERE ' + ' AND '.join(clauses)) if clauses else ''}
        ORDER BY {_ORDER[sort]}""", [now, *params]).fetchall()
    return [dict(zip(REVIEW_COLUMNS, row, strict=True)) for row in rows]


def get_review(con: duckdb.DuckDBPyConnection, exception_id: str,
               now: dt.datetime | None = None) -> dict[str, Any] | None:
    """One exception's review row, or None."""
    now = now or dt.datetime.now(dt.UTC)
    rows = con.execute(f"""
        SELECT {', '.join(REVIEW_COLUMNS[:-1])},
               date_diff('day', first_seen_at, ?::TIMESTAMPTZ)
        FROM {REVIEW} WHERE exception_id = ?""", [now, exception_id]).fetchall()
    return dict(zip(REVIEW_COLUMNS, rows[0], strict=True)) if rows else None


def history(con: duckdb.DuckDBPyConnection, exception_id: str) -> list[dict[str, Any]]:
    """The audit trail of one exception, oldest first."""
    rows = con.execute(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {AUDIT} "
                       "WHERE exception_id = ? ORDER BY audit_id", [exception_id]).fetchall()
    return [dict(zip(AUDIT_COLUMNS, row, strict=True)) for row in rows]


def ageing_bucket(age_days: int) -> str:
    """The label of the ageing bucket an age in days falls in."""
    for label, low, high in AGEING_BUCKETS:
        if age_days >= low and (high is None or age_days <= high):
            return label
    return AGEING_BUCKETS[0][0]  # negative ages (clock skew) count as new


def _where(filters: Filters) -> tuple[list[str], list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    for column, value in (("rule", filters.rule), ("entity", filters.entity),
                          ("period", filters.period)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if filters.status is not None:
        clauses.append("status = ?")
        params.append(filters.status.value)
    if filters.owner is not None:
        clauses.append("lower(owner) = lower(?)")
        params.append(filters.owner)
    if filters.min_amount is not None:
        clauses.append("abs(difference_reporting) >= ?")
        params.append(filters.min_amount)
    if filters.current_only:
        clauses.append("is_present")
    return clauses, params
