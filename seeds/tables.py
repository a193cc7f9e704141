"""The generated company's tables: names, columns and types, in one place.

The generator casts every frame it writes to these schemas and the sandbox server reads the
same files, so this module is the contract between them (and, later, the raw landing schemas).
Shapes follow DESIGN §3: billing is Stripe-like (integer minor units, lowercase ISO currency,
epoch seconds), the ERP is NetSuite-like (integer internal ids, "T"/"F" flags, amounts as
decimals with the transaction currency), revrec is a plain REST system (decimal strings).
"""

from __future__ import annotations

import polars as pl
from polars._typing import PolarsDataType

MONEY = pl.Decimal(20, 2)  # ERP amounts; NetSuite keeps two decimals even for JPY
RATE = pl.Decimal(20, 10)
TS = pl.Datetime("us", "UTC")

SCHEMAS: dict[str, dict[str, PolarsDataType]] = {
    # ---- reference data a real user edits -------------------------------------------------
    "reference/currencies": {"code": pl.String, "exponent": pl.Int8, "name": pl.String},
    "reference/legal_entities": {
        "code": pl.String, "name": pl.String, "base_currency": pl.String,
        "erp_subsidiary_id": pl.Int64, "currencies": pl.String,  # comma-separated billing ccys
    },
    "reference/chart_of_accounts": {
        "acctnumber": pl.String, "name": pl.String, "accttype": pl.String,
    },
    "reference/account_mapping": {
        "event_class": pl.String, "debit_acctnumber": pl.String, "credit_acctnumber": pl.String,
        "description": pl.String,
    },
    "reference/fx_rates": {
        "rate_date": pl.Date, "from_currency": pl.String, "to_currency": pl.String,
        "rate": RATE,
    },
    # ---- billing (Stripe-shaped) -----------------------------------------------------------
    "billing/products": {
        "id": pl.String, "name": pl.String, "revenue_class": pl.String,
        "recognition": pl.String, "created": pl.Int64, "updated": pl.Int64,
    },
    "billing/prices": {
        "id": pl.String, "product": pl.String, "currency": pl.String,
        "unit_amount": pl.Int64, "recurring_interval": pl.String, "usage_type": pl.String,
        "included_quantity": pl.Int64, "created": pl.Int64, "updated": pl.Int64,
    },
    "billing/customers": {
        "id": pl.String, "name": pl.String, "email": pl.String, "currency": pl.String,
        "legal_entity": pl.String, "created": pl.Int64, "updated": pl.Int64,
    },
    "billing/subscriptions": {
        "id": pl.String, "customer": pl.String, "status": pl.String, "currency": pl.String,
        "billing_interval": pl.String, "start_date": pl.Int64,
        "current_period_start": pl.Int64, "current_period_end": pl.Int64,
        "cancel_at_period_end": pl.Boolean, "canceled_at": pl.Int64, "ended_at": pl.Int64,
        "created": pl.Int64, "updated": pl.Int64,
    },
    "billing/subscription_items": {
        "id": pl.String, "subscription": pl.String, "price": pl.String, "product": pl.String,
        "quantity": pl.Int64, "created": pl.Int64, "updated": pl.Int64,
    },
    "billing/invoices": {
        "id": pl.String, "number": pl.String, "customer": pl.String,
        "subscription": pl.String, "status": pl.String, "currency": pl.String,
        "billing_reason": pl.String, "subtotal": pl.Int64, "total_discount": pl.Int64,
        "tax": pl.Int64, "total": pl.Int64, "amount_due": pl.Int64, "amount_paid": pl.Int64,
        "amount_remaining": pl.Int64, "period_start": pl.Int64, "period_end": pl.Int64,
        "created": pl.Int64, "finalized_at": pl.Int64, "paid_at": pl.Int64,
        "voided_at": pl.Int64, "due_date": pl.Int64, "attempt_count": pl.Int64,
        "charge": pl.String, "updated": pl.Int64,
    },
    "billing/invoice_lines": {
        "id": pl.String, "invoice": pl.String, "line_number": pl.Int64,
        "subscription_item": pl.String, "price": pl.String, "product": pl.String,
        "description": pl.String, "quantity": pl.Int64, "amount": pl.Int64,
        "discount_amount": pl.Int64, "tax_amount": pl.Int64, "currency": pl.String,
        "period_start": pl.Int64, "period_end": pl.Int64, "proration": pl.Boolean,
        "type": pl.String,
    },
    "billing/credit_notes": {
        "id": pl.String, "number": pl.String, "invoice": pl.String, "customer": pl.String,
        "currency": pl.String, "status": pl.String, "type": pl.String, "reason": pl.String,
        "subtotal": pl.Int64, "tax": pl.Int64, "total": pl.Int64, "refund_amount": pl.Int64,
        "memo": pl.String, "created": pl.Int64, "updated": pl.Int64,
    },
    "billing/credit_note_lines": {
        "id": pl.String, "credit_note": pl.String, "invoice_line": pl.String,
        "amount": pl.Int64, "tax_amount": pl.Int64,
    },
    # ---- ERP (NetSuite-shaped, SuiteQL tables) ------------------------------------------
    "erp/currency": {"id": pl.Int64, "symbol": pl.String, "name": pl.String},
    "erp/subsidiary": {
        "id": pl.Int64, "name": pl.String, "externalid": pl.String, "currency": pl.Int64,
    },
    "erp/customer": {
        "id": pl.Int64, "entityid": pl.String, "companyname": pl.String,
        "externalid": pl.String, "subsidiary": pl.Int64, "currency": pl.Int64,
        "datecreated": TS, "lastmodifieddate": TS,
    },
    "erp/accountingperiod": {
        "id": pl.Int64, "periodname": pl.String, "startdate": pl.Date, "enddate": pl.Date,
        "closed": pl.String, "closedondate": TS, "isquarter": pl.String, "isyear": pl.String,
        "isadjust": pl.String,
    },
    "erp/account": {
        "id": pl.Int64, "acctnumber": pl.String, "fullname": pl.String, "accttype": pl.String,
    },
    "erp/transaction": {
        "id": pl.Int64, "tranid": pl.String, "type": pl.String, "externalid": pl.String,
        "entity": pl.Int64, "subsidiary": pl.Int64, "currency": pl.Int64,
        "exchangerate": RATE, "trandate": pl.Date, "postingperiod": pl.Int64,
        "status": pl.String, "voided": pl.String, "foreigntotal": MONEY,
        "foreignamountremaining": MONEY, "appliedto": pl.Int64, "memo": pl.String,
        "duedate": pl.Date, "createddate": TS, "lastmodifieddate": TS,
    },
    "erp/transactionline": {
        "id": pl.Int64, "transaction": pl.Int64, "linesequencenumber": pl.Int64,
        "mainline": pl.String, "taxline": pl.String, "account": pl.Int64,
        "foreignamount": MONEY, "memo": pl.String, "subsidiary": pl.Int64,
        "custcol_invoice_line": pl.String, "linelastmodifieddate": TS,
    },
    # ---- revrec (plain REST) --------------------------------------------------------------
    "revrec/revenue_schedules": {
        "id": pl.String, "invoice_id": pl.String, "invoice_line_id": pl.String,
        "customer_id": pl.String, "legal_entity": pl.String, "currency": pl.String,
        "product_id": pl.String, "recognition_method": pl.String, "total_amount": pl.String,
        "document_date": pl.Date, "service_start": pl.Date, "service_end": pl.Date,
        "status": pl.String, "created_at": TS, "updated_at": TS,
    },
    "revrec/revenue_schedule_lines": {
        "schedule_id": pl.String, "line_number": pl.Int64, "period": pl.String,
        "amount": pl.String, "status": pl.String,
    },
    # ---- support (helpdesk-shaped, modeled on Zendesk; DESIGN §3) --------------------------
    # An organization carries its support entitlement (Zendesk keeps these as organization
    # fields): the tier (standard | premium | enterprise), the SLA policy, the billing products
    # it covers (comma-separated product ids), active/suspended and the validity dates;
    # external_id is the billing customer id.  Service credits are what agents promised for
    # SLA breaches: decimal amount in major units, upper-case ISO currency, and the billing
    # credit note that paid it out when the agent recorded one.
    "support/organizations": {
        "id": pl.Int64, "name": pl.String, "external_id": pl.String,
        "support_tier": pl.String, "sla_policy": pl.String, "covered_products": pl.String,
        "entitlement_status": pl.String, "valid_from": pl.Date, "valid_to": pl.Date,
        "created_at": TS, "updated_at": TS,
    },
    "support/service_credits": {
        "id": pl.Int64, "organization_id": pl.Int64, "amount": pl.String,
        "currency": pl.String, "reason": pl.String, "promised_date": pl.Date,
        "credit_note_id": pl.String, "status": pl.String, "created_at": TS, "updated_at": TS,
    },
    # ---- usage events (files dropped by the product, usage/date=YYYY-MM-DD/) ---------------
    "usage/events": {
        "event_id": pl.String, "customer": pl.String, "subscription_item": pl.String,
        "metric": pl.String, "quantity": pl.Int64, "occurred_at": TS, "received_at": TS,
    },
}

# Natural key of each table (what "served exactly once" and upserts are keyed on).
KEYS: dict[str, tuple[str, ...]] = {
    name: ("id",) for name in SCHEMAS if name.split("/")[0] in {"billing", "erp", "support"}
}
KEYS.update({
    "revrec/revenue_schedules": ("id",),
    "revrec/revenue_schedule_lines": ("schedule_id", "line_number"),
    "usage/events": ("event_id",),
    "reference/currencies": ("code",),
    "reference/legal_entities": ("code",),
    "reference/chart_of_accounts": ("acctnumber",),
    "reference/account_mapping": ("event_class",),
    "reference/fx_rates": ("rate_date", "from_currency", "to_currency"),
})


def conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select and cast ``frame`` to the contract for table ``name`` (missing columns -> null)."""
    schema = SCHEMAS[name]
    columns = [
        (pl.col(col) if col in frame.columns else pl.lit(None)).cast(dtype).alias(col)
        for col, dtype in schema.items()
    ]
    return frame.select(columns)


def duckdb_type(dtype: PolarsDataType, *, timestamp: str = "TIMESTAMPTZ") -> str:
    """The DuckDB column type for a contract dtype; ``timestamp`` picks the timestamp flavour.

    The warehouse keeps UTC instants as TIMESTAMPTZ; the sandbox serves naive UTC.
    """
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return timestamp
    simple = {
        pl.String: "VARCHAR", pl.Int64: "BIGINT", pl.Int32: "INTEGER", pl.Int8: "TINYINT",
        pl.Boolean: "BOOLEAN", pl.Date: "DATE", pl.Float64: "DOUBLE",
    }
    for polars_type, duck in simple.items():
        if dtype == polars_type:
            return duck
    raise TypeError(f"no DuckDB type for contract dtype {dtype}")
