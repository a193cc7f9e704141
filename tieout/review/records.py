"""The records behind an exception, from each system, for ``exceptions show``.

A controller investigating a break wants both sides side by side, not two references to go
and look up.  The natural key says what kind of record it is (``invoice:<id>``,
``customer:<id>|<ccy>``, ...); each kind maps to the staging and mart rows that hold it.
Relations missing from a warehouse (a partial build) are skipped, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

# natural key prefix -> (label, relation, key columns the key's "|"-separated parts match)
_LOOKUPS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "invoice": (("billing invoice", "staging.stg_billing__invoices", ("invoice_id",)),
                ("ERP transactions", "staging.stg_erp__transactions", ("external_id",)),
                ("reconciliation", "marts.fct_invoice_reconciliation", ("invoice_id",))),
    "erp_transaction": (("ERP transaction", "staging.stg_erp__transactions",
                         ("transaction_id",)),),
    "invoice_line": (("billing invoice line", "staging.stg_billing__invoice_lines",
                      ("invoice_line_id",)),
                     ("revrec schedules", "staging.stg_revrec__revenue_schedules",
                      ("invoice_line_id",)),
                     ("revenue reconciliation", "marts.fct_revenue_reconciliation",
                      ("invoice_line_id",))),
    "credit_note": (("billing credit note", "staging.stg_billing__credit_notes",
                     ("credit_note_id",)),
                    ("ERP transactions", "staging.stg_erp__transactions", ("external_id",))),
    "schedule": (("revrec schedule", "staging.stg_revrec__revenue_schedules",
                  ("schedule_id",)),),
    "subscription": (("billing subscription", "staging.stg_billing__subscriptions",
                      ("subscription_id",)),),
    "subscription_item": (("billing subscription item",
                           "staging.stg_billing__subscription_items",
                           ("subscription_item_id",)),),
    "customer": (("AR reconciliation", "marts.fct_ar_reconciliation",
                  ("customer_id", "currency")),
                 ("billing customer", "staging.stg_billing__customers", ("customer_id",)),
                 ("support entitlement", "marts.fct_entitlement_reconciliation",
                  ("customer_id",))),
    "organization": (("support organization", "staging.stg_support__organizations",
                      ("organization_id",)),
                     ("support entitlement", "marts.fct_entitlement_reconciliation",
                      ("organization_id",))),
    "service_credit": (("support service credit", "staging.stg_support__service_credits",
                        ("service_credit_id",)),
                       ("service credit reconciliation",
                        "marts.fct_service_credit_reconciliation", ("service_credit_id",))),
    "rollforward": (("deferred revenue roll-forward", "marts.fct_deferred_revenue_rollforward",
                     ("legal_entity_code", "currency", "period")),),
    "usage_revenue": (("usage revenue tie-out", "intermediate.int_usage_revenue_tieout",
                       ("legal_entity_code", "currency", "period")),),
}
MAX_ROWS = 20  # a duplicated key can match many rows; show enough to see the duplication


@dataclass(frozen=True)
class SourceRecords:
    """Rows of one relation that the exception's natural key finds."""

    label: str
    relation: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def records_for(con: duckdb.DuckDBPyConnection, natural_key: str) -> list[SourceRecords]:
    """Every relation's rows for ``natural_key`` (in the order of the lookups)."""
    prefix, _, rest = natural_key.partition(":")
    found: list[SourceRecords] = []
    for label, relation, keys in _LOOKUPS.get(prefix, ()):
        parts = rest.split("|")[:len(keys)]
        if len(parts) != len(keys) or not _exists(con, relation, keys):
            continue
        where = " AND ".join(f"CAST({k} AS VARCHAR) = ?" for k in keys)
        cursor = con.execute(f"SELECT * FROM {relation} WHERE {where} LIMIT {MAX_ROWS}", parts)
        columns = tuple(d[0] for d in cursor.description or ())
        found.append(SourceRecords(label, relation, columns, cursor.fetchall()))
    return found


def _exists(con: duckdb.DuckDBPyConnection, relation: str, keys: tuple[str, ...]) -> bool:
    schema, name = relation.split(".")
    columns = {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND "
        "table_name = ?", [schema, name]).fetchall()}
    return bool(columns) and set(keys) <= columns
