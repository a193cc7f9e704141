"""Money totals per currency for raw-table metadata: what a controller checks first."""

from __future__ import annotations

from decimal import Decimal

import duckdb

from tieout.warehouse.schema import raw_table

# table -> (amount expression in major units, currency expression, extra FROM clause)
_TOTALS = {
    "billing/invoices": ("t.total / CASE upper(t.currency) WHEN 'JPY' THEN 1 ELSE 100 END",
                         "upper(t.currency)", ""),
    "billing/credit_notes": ("t.total / CASE upper(t.currency) WHEN 'JPY' THEN 1 ELSE 100 END",
                             "upper(t.currency)", ""),
    "erp/transaction": ("t.foreigntotal", "c.symbol",
                        "JOIN raw_erp.currency c ON c.id = t.currency"),
    "revrec/revenue_schedules": ("CAST(t.total_amount AS DECIMAL(20, 2))", "t.currency", ""),
    "support/service_credits": ("CAST(t.amount AS DECIMAL(20, 2))", "t.currency", ""),
}


def money_totals(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """``{"total_USD": "1234.56", ...}`` over the whole raw table (Decimal, as text)."""
    spec = _TOTALS.get(table)
    if spec is None:
        return {}
    amount, currency, join = spec
    rows = con.execute(f"""SELECT {currency} AS ccy, sum({amount})::DECIMAL(38, 2)
                           FROM {raw_table(table)} t {join} GROUP BY ALL ORDER BY 1""").fetchall()
    return {f"total_{ccy}": str(Decimal(total)) for ccy, total in rows if ccy is not None}
