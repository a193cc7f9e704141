"""Queries over ``marts.fct_exceptions`` and ``marts.fct_in_transit``, on a read-only connection.

The asset checks, the ``tieout run`` summary and ``tieout exceptions`` all count and list
through these functions, so the numbers a controller sees agree everywhere.  Amounts stay
``Decimal``; formatting is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from tieout.errors import TieoutError
from tieout.warehouse.connection import open_read_only
from tieout.warehouse.schema import relation_exists

EXCEPTIONS = "marts.fct_exceptions"
IN_TRANSIT = "marts.fct_in_transit"

# What `exceptions list` shows, in order: identity, where, the two sides, why.
EXCEPTION_COLUMNS = (
    "exception_id", "rule", "severity", "natural_key", "entity", "currency", "period",
    "timing_status", "billing_amount", "other_system", "other_amount", "difference",
    "reporting_currency", "difference_reporting", "is_material", "reason",
)


@dataclass(frozen=True)
class RuleTotal:
    """Exceptions of one rule: how many, their absolute size in reporting currency, how many
    are material."""

    rule: str
    count: int
    amount: Decimal
    material: int


def open_register(warehouse: Path, config: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a warehouse whose reconciliation has been built.

    Fails with one line saying what to run when the warehouse or the mart does not exist.
    """
    missing = TieoutError(f"no reconciliation in {warehouse}: run `tieout run --config "
                          f"{config}` first")
    if not warehouse.is_file():
        raise missing
    con = open_read_only(warehouse)
    if not relation_exists(con, EXCEPTIONS):
        con.close()
        raise missing
    return con


def list_exceptions(con: duckdb.DuckDBPyConnection,
                    rule: str | None = None) -> list[tuple[object, ...]]:
    """Current exceptions (``EXCEPTION_COLUMNS``), optionally of one rule, in a stable order."""
    where, params = ("WHERE rule = ?", [rule]) if rule else ("", [])
    columns = ", ".join(EXCEPTION_COLUMNS)
    return con.execute(f"SELECT {columns} FROM {EXCEPTIONS} {where} "
                       "ORDER BY rule, natural_key, exception_id", params).fetchall()


def rule_totals(con: duckdb.DuckDBPyConnection) -> dict[str, RuleTotal]:
    """Per rule code with at least one exception: count, Σ|difference_reporting|, material."""
    rows = con.execute(f"""
        SELECT rule, count(*), coalesce(sum(abs(difference_reporting)), 0),
               sum(CASE WHEN is_material THEN 1 ELSE 0 END)
        FROM {EXCEPTIONS} GROUP BY rule""").fetchall()
    return {rule: RuleTotal(rule, int(count), Decimal(amount), int(material or 0))
            for rule, count, amount, material in rows}


def in_transit_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Items inside the grace period per kind (listed, not exceptions); empty if not built."""
    if not relation_exists(con, IN_TRANSIT):
        return {}
    rows = con.execute(f"SELECT kind, count(*) FROM {IN_TRANSIT} GROUP BY kind "
                       "ORDER BY kind").fetchall()
    return {str(kind): int(count) for kind, count in rows}

