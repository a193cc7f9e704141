"""Reference data a real finance team edits: currencies, entities, accounts, catalogue, FX.

Kept small and explicit: the two legal entities, their billing currencies, the chart of
accounts and the event-class -> account mapping that both the ERP postings here and tieout's
usage journals use.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import polars as pl

from tieout.money import CURRENCY_EXPONENTS

from .calendar import HISTORY_START_EPOCH

CURRENCY_NAMES = {"USD": "US Dollar", "EUR": "Euro", "GBP": "British Pound", "JPY": "Japanese Yen"}
ERP_CURRENCY_IDS = {"USD": 1, "EUR": 2, "GBP": 3, "JPY": 4}

# code, name, base currency, ERP subsidiary id, currencies it bills in
ENTITIES = (
    ("US01", "Tieout Demo Inc.", "USD", 1, ("USD", "JPY")),
    ("EU01", "Tieout Demo GmbH", "EUR", 2, ("EUR", "GBP")),
)
ENTITY_OF_CURRENCY = {ccy: code for code, _, _, _, ccys in ENTITIES for ccy in ccys}
SUBSIDIARY_OF_ENTITY = {code: sid for code, _, _, sid, _ in ENTITIES}
BASE_OF_ENTITY = {code: base for code, _, base, _, _ in ENTITIES}

# acctnumber, name, NetSuite account type; ERP internal id = position + 1
ACCOUNTS = (
    ("1000", "Cash", "Bank"),
    ("1100", "Accounts Receivable", "AcctRec"),
    ("1150", "Unbilled Receivable", "OthCurrAsset"),
    ("2200", "Sales Tax Payable", "OthCurrLiab"),
    ("2300", "Deferred Revenue", "DeferRevenue"),
    ("4000", "Subscription Revenue", "Income"),
    ("4100", "Usage Revenue", "Income"),
    ("4200", "Support Revenue", "Income"),
    ("4300", "Professional Services Revenue", "Income"),
)
ACCOUNT_ID = {number: i + 1 for i, (number, _, _) in enumerate(ACCOUNTS)}

# event class -> (debit, credit, description)
ACCOUNT_MAPPING = (
    ("invoice_subscription", "1100", "2300", "Subscription billed in advance"),
    ("invoice_support", "1100", "2300", "Support add-on billed in advance"),
    ("invoice_onboarding", "1100", "2300", "One-off onboarding fee"),
    ("invoice_usage", "1100", "1150", "Usage billed in arrears relieves unbilled receivable"),
    ("invoice_tax", "1100", "2200", "Sales tax / VAT on invoices"),
    ("credit_note", "2300", "1100", "Credit note against a billed line"),
    ("payment", "1000", "1100", "Customer payment"),
    ("refund", "1100", "1000", "Refund of a post-payment credit note"),
    ("recognize_subscription", "2300", "4000", "Monthly subscription revenue recognition"),
    ("recognize_support", "2300", "4200", "Monthly support revenue recognition"),
    ("recognize_onboarding", "2300", "4300", "Onboarding revenue recognition"),
    ("usage_accrual", "1150", "4100", "Usage micro-batch journal (posted by tieout)"),
)
DEFERRED_ACCOUNT = "2300"
REVENUE_ACCOUNT_OF_CLASS = {"subscription": "4000", "support": "4200", "onboarding": "4300"}

# product id, name, revenue class, recognition
PRODUCTS = (
    ("prod_core", "Core platform (per seat)", "subscription", "ratable"),
    ("prod_pro", "Pro platform (per seat)", "subscription", "ratable"),
    ("prod_support", "Premium support add-on", "support", "ratable"),
    ("prod_onboarding", "Onboarding package", "onboarding", "point_in_time"),
    ("prod_api", "API calls (metered overage)", "usage", "usage"),
)
# Monthly list price in minor units per currency; annual plans cost ten months.
MONTHLY_PRICE = {
    "prod_core": {"USD": 2500, "EUR": 2300, "GBP": 2000, "JPY": 3500},
    "prod_pro": {"USD": 6000, "EUR": 5500, "GBP": 4800, "JPY": 8500},
    "prod_support": {"USD": 20000, "EUR": 18000, "GBP": 16000, "JPY": 28000},
}
ONBOARDING_PRICE = {"USD": 150000, "EUR": 140000, "GBP": 120000, "JPY": 210000}
USAGE_UNIT_PRICE = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 3}  # per API call
USAGE_INCLUDED = 1000  # calls included per billing cycle
# Tax in basis points by billing currency (US sales tax applies to some customers only).
TAX_BP = {"USD": 725, "EUR": 1900, "GBP": 2000, "JPY": 1000}


def currencies() -> pl.DataFrame:
    """ISO currencies with their minor-unit exponent."""
    return pl.DataFrame({
        "code": list(CURRENCY_EXPONENTS),
        "exponent": list(CURRENCY_EXPONENTS.values()),
        "name": [CURRENCY_NAMES[c] for c in CURRENCY_EXPONENTS],
    })


def legal_entities() -> pl.DataFrame:
    """The two legal entities, their base currency and ERP subsidiary."""
    return pl.DataFrame({
        "code": [e[0] for e in ENTITIES], "name": [e[1] for e in ENTITIES],
        "base_currency": [e[2] for e in ENTITIES], "erp_subsidiary_id": [e[3] for e in ENTITIES],
        "currencies": [",".join(e[4]) for e in ENTITIES],
    })


def chart_of_accounts() -> pl.DataFrame:
    """Chart of accounts shared by the ERP and the account mapping."""
    return pl.DataFrame(
        {"acctnumber": [a[0] for a in ACCOUNTS], "name": [a[1] for a in ACCOUNTS],
         "accttype": [a[2] for a in ACCOUNTS]}
    )


def account_mapping() -> pl.DataFrame:
    """Event class -> debit / credit account; tieout's usage journals read it too."""
    return pl.DataFrame(
        ACCOUNT_MAPPING, schema=["event_class", "debit_acctnumber", "credit_acctnumber",
                                 "description"], orient="row",
    )


def products() -> pl.DataFrame:
    """Product catalogue with revenue class and recognition method."""
    return pl.DataFrame(
        PRODUCTS, schema=["id", "name", "revenue_class", "recognition"], orient="row"
    ).with_columns(created=pl.lit(HISTORY_START_EPOCH - 86400 * 30),
                   updated=pl.lit(HISTORY_START_EPOCH - 86400 * 30))


def prices() -> pl.DataFrame:
    """One price per product, currency and interval; ids encode all three for readability."""
    rows: list[tuple[str, str, str, int, str | None, str, int | None]] = []
    for product, by_ccy in MONTHLY_PRICE.items():
        for ccy, monthly in by_ccy.items():
            for interval, amount in (("month", monthly), ("year", monthly * 10)):
                rows.append((f"price_{product[5:]}_{ccy.lower()}_{interval}", product,
                             ccy.lower(), amount, interval, "licensed", None))
    for ccy, amount in ONBOARDING_PRICE.items():
        rows.append((f"price_onboarding_{ccy.lower()}", "prod_onboarding", ccy.lower(), amount,
                     None, "one_time", None))
    for ccy, amount in USAGE_UNIT_PRICE.items():
        rows.append((f"price_api_{ccy.lower()}_month", "prod_api", ccy.lower(), amount, "month",
                     "metered", USAGE_INCLUDED))
    return pl.DataFrame(rows, schema=["id", "product", "currency", "unit_amount",
                                      "recurring_interval", "usage_type", "included_quantity"],
                        orient="row").with_columns(
        created=pl.lit(HISTORY_START_EPOCH - 86400 * 30),
        updated=pl.lit(HISTORY_START_EPOCH - 86400 * 30),
    )


def fx_rates(rng: np.random.Generator) -> pl.DataFrame:
    """Daily cross rates for every currency pair, from a seeded random walk against USD.

    Rates are Decimals with ten places, rounded half-up once; the walk itself uses integer
    basis-point steps so no float ever reaches a stored rate.
    """
    start, end = dt.date(2023, 12, 1), dt.date(2026, 2, 28)
    days = (end - start).days + 1
    usd_per = {"USD": [Decimal(1)] * days}
    anchors = {"EUR": Decimal("1.0900"), "GBP": Decimal("1.2700"), "JPY": Decimal("0.006800")}
    for ccy, anchor in anchors.items():
        steps = rng.integers(-30, 31, size=days)  # +-0.30% a day, in basis points
        level, walk = anchor, []
        for step in steps.tolist():
            level = level * (Decimal(10000 + step) / Decimal(10000))
            walk.append(level)
        usd_per[ccy] = walk
    q = Decimal("1e-10")
    rows = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        for f in usd_per:
            for t in usd_per:
                if f != t:
                    rate = (usd_per[f][i] / usd_per[t][i]).quantize(q, rounding=ROUND_HALF_UP)
                    rows.append((day, f, t, rate))
    return pl.DataFrame(rows, schema={"rate_date": pl.Date, "from_currency": pl.String,
                                      "to_currency": pl.String, "rate": pl.Decimal(20, 10)},
                        orient="row")
