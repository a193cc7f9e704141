"""The support platform's records as they should be: entitlements that follow billing.

Support is derived from the billing records exactly as written (after billing's own faults),
so a clean company's support platform agrees with billing and every support exception comes
from a support injection (``faults_support``).  The policy the pipeline checks is the one
written here:

- every billing customer has one organization (external_id = billing customer id);
- its tier follows what the customer pays for: the support add-on on the Core plan entitles
  "premium", on the Pro plan "enterprise", no add-on "standard";
- it covers the subscription's products other than support itself (plan, metered API);
- it is valid from the subscription's start date to the day before the subscription's end
  date (accounting time zone), so entitlement and subscription end together;
- a paid tier is suspended while any invoice is past due beyond ``SUPPORT_PAST_DUE_DAYS``;
- service credits agents promised for SLA breaches were paid out as goodwill credit notes
  (same customer, currency and total); most carry the credit note's id, some do not and are
  matched by customer, currency and amount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tieout.money import CURRENCY_EXPONENTS

from .calendar import AS_OF_EPOCH, local_date, utc
from .frames import minor_to_decimal_str

DAY = 86_400
SUPPORT_PAST_DUE_DAYS = 60  # tieout.toml [reconciliation] support_past_due_days
SERVICE_CREDIT_GRACE_DAYS = 14  # tieout.toml [reconciliation] service_credit_grace_days
TIER_OF_PLAN = {"prod_core": "premium", "prod_pro": "enterprise"}
SLA_OF_TIER = {"standard": "standard_24h", "premium": "premium_4h", "enterprise": "enterprise_1h"}
ORG_ID_BASE = 360_000_000
CREDIT_ID_BASE = 48_000_000
SUPPORT_PRODUCT = "prod_support"
CREDIT_REASONS = ("SLA breach: first response time", "SLA breach: resolution time",
                  "SLA breach: availability below commitment")


@dataclass
class SupportInputs:
    """The billing facts support follows, one row per customer, kept small across phases."""

    accounts: pl.DataFrame
    credit_notes: pl.DataFrame  # goodwill credit notes a service credit may have paid out
    credited: pl.DataFrame  # customers with any credit note (an invented credit must not match)


def support_inputs(customers: pl.DataFrame, subscriptions: pl.DataFrame,
                   items: pl.DataFrame, invoices: pl.DataFrame,
                   credit_notes: pl.DataFrame) -> SupportInputs:
    """Collect per customer: plan, support add-on, covered products, end date, past due."""
    products = items.group_by("subscription").agg(
        has_support=(pl.col("product") == SUPPORT_PRODUCT).any(),
        covered=pl.col("product").filter(pl.col("product") != SUPPORT_PRODUCT).sort()
        .str.join(","),
        plan=pl.col("product").filter(pl.col("id").str.ends_with("_plan")).first(),
    )
    overdue = invoices.filter(
        (pl.col("status") == "open") & (pl.col("amount_remaining") > 0)
        & (pl.col("due_date") + SUPPORT_PAST_DUE_DAYS * DAY < AS_OF_EPOCH)
    ).group_by("customer").agg(past_due_minor=pl.col("amount_remaining").sum(),
                                oldest_due=pl.col("due_date").min())
    accounts = customers.select("cidx", "name", "entity", "currency", "created",
                                customer="id").join(
        subscriptions.select(customer="customer", subscription="id", start="start_date",
                             ended_at="ended_at"), on="customer", how="left",
    ).join(products, on="subscription", how="left").join(
        overdue, on="customer", how="left").with_columns(
        has_support=pl.col("has_support").fill_null(False),
        past_due=pl.col("past_due_minor").is_not_null(),
        end_date=local_date(pl.col("ended_at")),
    ).with_columns(
        sub_active=pl.col("subscription").is_not_null() & (
            pl.col("ended_at").is_null() | (pl.col("end_date") > local_date(pl.lit(AS_OF_EPOCH)))),
    ).sort("cidx")
    goodwill = credit_notes.filter(pl.col("reason") == "product_unsatisfactory").select(
        "id", "customer", "total", "created", currency=pl.col("currency").str.to_uppercase())
    return SupportInputs(accounts, goodwill, credit_notes.select("customer").unique())


def organizations(accounts: pl.DataFrame) -> pl.DataFrame:
    """One organization per customer carrying the entitlement billing implies."""
    tier = pl.when(pl.col("has_support")).then(
        pl.col("plan").replace_strict(TIER_OF_PLAN, default="premium")
    ).otherwise(pl.lit("standard"))
    suspended = pl.col("has_support") & pl.col("past_due")
    suspended_at = pl.col("oldest_due") + SUPPORT_PAST_DUE_DAYS * DAY + 3600
    updated = pl.min_horizontal(
        pl.max_horizontal("created", "start", pl.when(suspended).then(suspended_at),
                          pl.when(pl.col("ended_at") <= AS_OF_EPOCH).then(pl.col("ended_at"))),
        pl.lit(AS_OF_EPOCH - 600))
    return accounts.with_columns(tier=tier).select(
        "cidx", "customer", "entity", "currency", "sub_active", "has_support", "past_due",
        "plan", "end_date",
        id=pl.lit(ORG_ID_BASE, pl.Int64) + pl.col("cidx"), name="name",
        external_id="customer", support_tier="tier",
        sla_policy=pl.col("tier").replace_strict(SLA_OF_TIER),
        covered_products="covered",
        entitlement_status=pl.when(suspended).then(pl.lit("suspended"))
        .otherwise(pl.lit("active")),
        valid_from=local_date(pl.col("start")),
        valid_to=pl.col("end_date") - pl.duration(days=1),
        created=pl.col("created"), updated=updated,
    )


def service_credits(inputs: SupportInputs, rng: np.random.Generator) -> pl.DataFrame:
    """Credits promised for SLA breaches and paid out as half of the goodwill credit notes."""
    notes = inputs.credit_notes.sort("id")
    n = notes.height
    chosen = notes.with_columns(
        chosen=pl.Series(rng.random(n)) < 0.5, referenced=pl.Series(rng.random(n)) < 0.7,
        reason_k=pl.Series(rng.integers(0, len(CREDIT_REASONS), size=n)),
        lead=pl.Series(rng.integers(1, 4, size=n)) * DAY,
    ).filter("chosen").join(inputs.accounts.select("customer", "cidx"), on="customer")
    return chosen.select(
        "customer", "currency", "cidx",
        organization_id=pl.lit(ORG_ID_BASE, pl.Int64) + pl.col("cidx"),
        amount_minor="total", reason=pl.col("reason_k").replace_strict(
            dict(enumerate(CREDIT_REASONS)), return_dtype=pl.String),
        promised=pl.col("created") - pl.col("lead"),
        credit_note_id=pl.when("referenced").then(pl.col("id")),
        created=pl.col("created") - pl.col("lead"), updated=pl.col("created") + 3600,
    )


def number_credits(credits: pl.DataFrame) -> pl.DataFrame:
    """Stable ids in promise order, once clean and injected credits are together."""
    return credits.sort("promised", "organization_id", "amount_minor").with_columns(
        id=pl.lit(CREDIT_ID_BASE, pl.Int64) + pl.int_range(1, pl.len() + 1, dtype=pl.Int64))


def organization_table(orgs: pl.DataFrame) -> pl.DataFrame:
    """Organizations in the contract's shape (``support/organizations``)."""
    return orgs.with_columns(created_at=utc(pl.col("created")),
                             updated_at=utc(pl.col("updated")))


def credit_table(credits: pl.DataFrame) -> pl.DataFrame:
    """Service credits in the contract's shape: decimal amounts in major units."""
    exp = pl.col("currency").replace_strict(CURRENCY_EXPONENTS, return_dtype=pl.Int64)
    return credits.with_columns(
        amount=minor_to_decimal_str(pl.col("amount_minor"), exp),
        promised_date=local_date(pl.col("promised")),
        status=pl.when(pl.col("credit_note_id").is_not_null()).then(pl.lit("applied"))
        .otherwise(pl.lit("promised")),
        created_at=utc(pl.col("created")),
        updated_at=utc(pl.min_horizontal("updated", pl.lit(AS_OF_EPOCH - 600))),
    )
