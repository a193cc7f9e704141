"""A small warehouse with hand-made exceptions and their review state, for review tests.

Building the real marts takes a dbt run; the review machinery only reads
``marts.fct_exceptions``, so the tests write that table directly (the columns the dbt contract
guarantees) and run the same ``sync_review`` a nightly run does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from tieout.review import SyncResult, sync_review
from tieout.warehouse.connection import open_warehouse

TIMEZONE = "America/Los_Angeles"
CONFIG = f"""[company]
accounting_timezone = "{TIMEZONE}"
reporting_currency = "USD"
[reconciliation]
grace_hours = 24
[reconciliation.absolute_tolerance]
[sources]
"""

DDL = """CREATE TABLE IF NOT EXISTS marts.fct_exceptions (
    exception_id VARCHAR, rule VARCHAR, severity VARCHAR, natural_key VARCHAR, entity VARCHAR,
    currency VARCHAR, period VARCHAR, timing_status VARCHAR, billing_amount DECIMAL(20, 4),
    other_system VARCHAR, other_amount DECIMAL(20, 4), difference DECIMAL(20, 4),
    reporting_currency VARCHAR, difference_reporting DECIMAL(20, 4), is_material BOOLEAN,
    reason VARCHAR, billing_ref VARCHAR, erp_ref VARCHAR, revrec_ref VARCHAR,
    support_ref VARCHAR, as_of TIMESTAMPTZ)"""

T0 = dt.datetime(2026, 1, 5, 6, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Row:
    """One exception as fct_exceptions holds it (the fields tests vary)."""

    exception_id: str
    rule: str
    natural_key: str
    entity: str
    currency: str
    period: str | None
    billing_amount: Decimal | None
    other_amount: Decimal | None
    difference_reporting: Decimal
    is_material: bool = False
    severity: str = "error"
    reason: str = "differs"

    def values(self, as_of: dt.datetime) -> tuple[object, ...]:
        difference = ((self.other_amount or Decimal(0)) - (self.billing_amount or Decimal(0)))
        return (self.exception_id, self.rule, self.severity, self.natural_key, self.entity,
                self.currency, self.period, None, self.billing_amount, "erp",
                self.other_amount, difference, "USD", self.difference_reporting,
                self.is_material, self.reason, f"billing {self.natural_key}",
                f"ERP {self.natural_key}", None, None, as_of)


ROWS = (
    Row("e1", "AMOUNT_MISMATCH", "invoice:in_1", "US01", "USD", "2025-12", Decimal("100.00"),
        Decimal("112.50"), Decimal("12.5000"), is_material=False),
    Row("e2", "AMOUNT_MISMATCH", "invoice:in_2", "EU01", "EUR", "2025-12", Decimal("96.00"),
        Decimal("99.84"), Decimal("4.1600")),
    Row("e3", "INVOICE_MISSING_IN_ERP", "invoice:in_3", "US01", "USD", "2025-12",
        Decimal("5400.00"), None, Decimal("-5400.0000"), is_material=True),
    Row("e4", "SCHEDULE_MISSING", "invoice_line:il_9", "JP01", "JPY", "2025-11",
        Decimal("34000"), None, Decimal("-240.5800")),
    Row("e5", "AR_CUSTOMER_MISMATCH", "customer:cus_1|USD", "US01", "USD", None,
        Decimal("10.00"), Decimal("0.00"), Decimal("-10.0000"), severity="warn"),
)


@dataclass
class World:
    """A configuration file and its warehouse."""

    config: Path
    warehouse: Path

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-write connection (schema ensured)."""
        return open_warehouse(self.warehouse)

    def run(self, rows: Sequence[Row], run_id: str, at: dt.datetime) -> SyncResult:
        """Replace fct_exceptions with ``rows`` and sync, as a nightly run at ``at`` would."""
        with self.connect() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts")
            con.execute(DDL)
            con.execute("DELETE FROM marts.fct_exceptions")
            if rows:
                con.executemany("INSERT INTO marts.fct_exceptions VALUES "
                                f"({', '.join('?' * 21)})",
                                [r.values(at) for r in rows])
            return sync_review(con, run_id, TIMEZONE, now=at)


def make_world(root: Path, rows: Sequence[Row] = ROWS, at: dt.datetime = T0) -> World:
    """A warehouse after one run that detected ``rows``."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "tieout.toml"
    config.write_text(CONFIG)
    world = World(config, root / "warehouse.duckdb")
    world.run(rows, "run-1", at)
    return world
