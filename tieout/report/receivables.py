"""The close report's receivables ageing: the ERP's open balances by days past due, billing's
view beside them, from ``marts.fct_ar_aging`` on the date the last build aged them.

Totals are in the reporting currency, per bucket and per legal entity; the customers listed
are those with the most overdue beyond 90 days, which is where a controller starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from tieout.warehouse.schema import relation_exists

AGING = "marts.fct_ar_aging"
LISTED = 10


@dataclass(frozen=True)
class AgingBucket:
    """One entity's (or all entities') open receivables in one bucket, reporting currency."""

    entity: str
    bucket: str
    erp_open: Decimal
    billing_open: Decimal
    difference: Decimal


@dataclass(frozen=True)
class OverdueCustomer:
    """A customer with receivables more than 90 days past due in the ERP."""

    customer_id: str
    entity: str | None
    currency: str
    erp_open: Decimal  # transaction currency
    erp_open_reporting: Decimal | None
    billing_open: Decimal


@dataclass(frozen=True)
class AgingFigures:
    """What the ageing section shows."""

    as_of_date: dt.date | None
    buckets: tuple[AgingBucket, ...]  # per entity, then "all", in bucket order
    overdue: tuple[OverdueCustomer, ...]
    unconverted: int  # rows without a rate into the reporting currency (left out of totals)



def aging_figures(con: duckdb.DuckDBPyConnection) -> AgingFigures | None:
    """The ageing section's figures, or ``None`` when fct_ar_aging is not built."""
    if not relation_exists(con, AGING):
        return None
    rows = con.execute(f"""
        SELECT coalesce(legal_entity_code, '(none)') AS entity, bucket,
               sum(erp_open_reporting), sum(billing_open_reporting),
               sum(difference_reporting), min(bucket_order) AS bucket_order
        FROM {AGING}
        GROUP BY GROUPING SETS ((coalesce(legal_entity_code, '(none)'), bucket), (bucket))
        ORDER BY grouping(coalesce(legal_entity_code, '(none)')), entity, bucket_order
        """).fetchall()
    buckets = tuple(AgingBucket(entity or "all", bucket, Decimal(erp or 0),
                                Decimal(billing or 0), Decimal(diff or 0))
                    for entity, bucket, erp, billing, diff, _ in rows)
    overdue = con.execute(f"""
        SELECT customer_id, legal_entity_code, currency, erp_open, erp_open_reporting,
               billing_open
        FROM {AGING} WHERE bucket = '90+' AND erp_open > 0
        ORDER BY erp_open_reporting DESC NULLS LAST, customer_id LIMIT {LISTED}""").fetchall()
    [(as_of, unconverted)] = con.execute(
        f"SELECT min(as_of_date), count(*) FILTER (WHERE fx_rate IS NULL) FROM {AGING}"
    ).fetchall()
    return AgingFigures(as_of, buckets, tuple(OverdueCustomer(*r) for r in overdue),
                        int(unconverted))
