"""The close report's support section: who is over- or under-served, credits outstanding.

Entitlements are a state on the run's as-of date, not a movement of the period, so this
section shows the latest state whatever period the report is for; service credits are listed
while something promised is still not credited, whatever month it was promised in.  Read
from the two support marts; ``None`` when they are not built (a warehouse from before the
support source), so the report says so instead of failing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from tieout.warehouse.schema import relation_exists

ENTITLEMENTS = "marts.fct_entitlement_reconciliation"
CREDITS = "marts.fct_service_credit_reconciliation"
OUTCOMES = ("over_serviced", "under_serviced", "kept_past_due", "mismatch")
CREDIT_STATUSES = ("not_billed", "amount_differs", "in_transit", "matched")
LISTED = 25  # rows of each list; the marts and the workbook have the rest
ZERO = Decimal(0)


@dataclass(frozen=True)
class OutcomeFigure:
    """Organizations (or customers) with one entitlement outcome."""

    outcome: str
    count: int
    monthly_value: Decimal  # monthly list price of support, reporting currency


@dataclass(frozen=True)
class ServedRow:
    """One organization or customer served differently from what it pays for."""

    outcome: str
    customer_id: str | None
    organization_id: int | None
    organization_name: str | None
    support_tier: str | None
    entitlement_status: str | None
    expected_tier: str | None
    past_due: Decimal | None
    currency: str | None
    monthly_value: Decimal | None  # reporting currency


@dataclass(frozen=True)
class CreditFigure:
    """Service credits in one match status, with what is still owed (reporting currency)."""

    status: str
    count: int
    outstanding: Decimal


@dataclass(frozen=True)
class CreditRow:
    """A service credit not (fully) credited in billing."""

    service_credit_id: int
    customer_id: str | None
    currency: str
    amount: Decimal
    credit_note_id: str | None
    credit_note_amount: Decimal | None
    promised_date: dt.date
    status: str
    outstanding: Decimal
    outstanding_reporting: Decimal | None


@dataclass(frozen=True)
class SupportFigures:
    """Everything the support section shows."""

    as_of: dt.datetime | None
    organizations: int
    outcomes: tuple[OutcomeFigure, ...]  # every outcome but ok, in OUTCOMES order
    served: tuple[ServedRow, ...]
    credits: tuple[CreditFigure, ...]  # every status, in CREDIT_STATUSES order
    outstanding: tuple[CreditRow, ...]

    @property
    def breaks(self) -> int:
        """Organizations and customers served otherwise than they pay for."""
        return sum(f.count for f in self.outcomes)

    @property
    def outstanding_total(self) -> Decimal:
        """Credits promised and not credited, in the reporting currency."""
        return sum((f.outstanding for f in self.credits), ZERO)



def support_figures(con: duckdb.DuckDBPyConnection) -> SupportFigures | None:
    """The support section's figures, or ``None`` when the support marts are not built."""
    if not (relation_exists(con, ENTITLEMENTS) and relation_exists(con, CREDITS)):
        return None
    [(as_of, organizations)] = con.execute(
        f"SELECT max(as_of), count(organization_id) FROM {ENTITLEMENTS}").fetchall()
    by_outcome = {o: (int(n), Decimal(v)) for o, n, v in con.execute(f"""
        SELECT outcome, count(*), coalesce(sum(monthly_support_amount_reporting), 0)
        FROM {ENTITLEMENTS} WHERE outcome <> 'ok' GROUP BY outcome""").fetchall()}
    served = con.execute(f"""
        SELECT outcome, customer_id, organization_id, organization_name, support_tier,
               entitlement_status, expected_tier, past_due_amount, currency,
               monthly_support_amount_reporting
        FROM {ENTITLEMENTS} WHERE outcome <> 'ok'
        ORDER BY monthly_support_amount_reporting DESC NULLS LAST, outcome, customer_id,
                 organization_id
        LIMIT {LISTED}""").fetchall()
    by_status = {s: (int(n), Decimal(v)) for s, n, v in con.execute(f"""
        SELECT match_status, count(*), coalesce(sum(outstanding_reporting), 0)
        FROM {CREDITS} GROUP BY match_status""").fetchall()}
    outstanding = con.execute(f"""
        SELECT service_credit_id, customer_id, currency, amount, credit_note_id,
               credit_note_amount, promised_date, match_status, outstanding,
               outstanding_reporting
        FROM {CREDITS} WHERE match_status <> 'matched'
        ORDER BY outstanding_reporting DESC NULLS LAST, service_credit_id
        LIMIT {LISTED}""").fetchall()
    return SupportFigures(
        as_of=as_of, organizations=int(organizations),
        outcomes=tuple(OutcomeFigure(o, *by_outcome.get(o, (0, ZERO))) for o in OUTCOMES),
        served=tuple(ServedRow(*row) for row in served),
        credits=tuple(CreditFigure(s, *by_status.get(s, (0, ZERO))) for s in CREDIT_STATUSES),
        outstanding=tuple(CreditRow(*row) for row in outstanding),
    )
