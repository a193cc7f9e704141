"""Faults in the support platform: entitlements that drift from billing, credits never billed.

Every variant a support rule covers is planted (each at the rule's rate of its own eligible
records, so small companies still see them all), one fault per customer, on top of the clean
records ``support`` derives from billing.  Each records its ground-truth row itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from tieout.money import CURRENCY_EXPONENTS

from .calendar import AS_OF_EPOCH, local_date, period_of
from .frames import ids
from .picking import Picker
from .support import (
    ORG_ID_BASE,
    SERVICE_CREDIT_GRACE_DAYS,
    SLA_OF_TIER,
    TIER_OF_PLAN,
    SupportInputs,
    number_credits,
)
from .truth import Truth

DAY = 86_400
AS_OF_PERIOD = pl.lit(AS_OF_EPOCH).pipe(period_of)
ORPHAN_ID_BASE = ORG_ID_BASE + 50_000_000  # above every customer-derived organization id
OTHER_TIER = {"premium": "enterprise", "enterprise": "premium"}


def _org_key() -> pl.Expr:
    return pl.lit("organization:") + pl.col("id").cast(pl.String)


# Entitlement faults are states on the as-of date: the customer's entity and currency, the
# as-of period.
SIDES: dict[str, Any] = {"entity": "entity", "currency": "currency", "period": AS_OF_PERIOD}


def _set(orgs: pl.DataFrame, changed: pl.DataFrame, **values: pl.Expr) -> pl.DataFrame:
    """``orgs`` with ``values`` applied to the organizations in ``changed`` (by id)."""
    marked = orgs.join(changed.select("id", hit=pl.lit(True)), on="id", how="left")
    hit = pl.col("hit").fill_null(False)
    return marked.with_columns(**{
        name: pl.when(hit).then(expr).otherwise(pl.col(name)) for name, expr in values.items()
    }).drop("hit")


def entitlement_faults(orgs: pl.DataFrame, picker: Picker, truth: Truth) -> pl.DataFrame:
    """Over-, under- and mis-servicing and entitlements kept for past-due customers."""
    active = pl.col("entitlement_status") == "active"
    paid_ok = pl.col("sub_active") & pl.col("has_support") & ~pl.col("past_due") & active
    touched = AS_OF_EPOCH - 5 * 3600

    over = picker.take("SUPPORT_OVER_SERVICING", orgs.filter(
        pl.col("sub_active") & ~pl.col("has_support") & active), key="customer")
    truth.record("SUPPORT_OVER_SERVICING", over, natural_key=_org_key(), **SIDES,
                 detail=pl.lit("premium tier granted without the support add-on"))
    tier = pl.col("plan").replace_strict(TIER_OF_PLAN, default="premium")
    orgs = _set(orgs, over, support_tier=tier, sla_policy=tier.replace_strict(SLA_OF_TIER),
                updated=pl.lit(touched))

    kept = picker.take("SUPPORT_OVER_SERVICING", orgs.filter(~pl.col("sub_active") & active),
                       key="customer")
    truth.record("SUPPORT_OVER_SERVICING", kept, natural_key=_org_key(), **SIDES,
                 detail=pl.lit("entitlement kept after the subscription ended"))
    orgs = _set(orgs, kept, valid_to=pl.lit(None, pl.Date), updated=pl.lit(touched))

    # Three ways to fail a paying customer, each taken at the rule's rate (at least once).
    under_details = ("organization on standard", "no support organization",
                     "entitlement suspended without a past-due invoice")
    under = []
    for variant, detail in enumerate(under_details):
        chosen = picker.take("SUPPORT_UNDER_SERVICING", orgs.filter(paid_ok), key="customer")
        truth.record("SUPPORT_UNDER_SERVICING", chosen,
                     natural_key=pl.lit("customer:") + pl.col("customer"), **SIDES,
                     detail=pl.lit(detail))
        under.append(chosen.with_columns(variant=pl.lit(variant)))
    gone = pl.concat(under)
    orgs = _set(orgs, gone.filter(pl.col("variant") == 0), support_tier=pl.lit("standard"),
                sla_policy=pl.lit(SLA_OF_TIER["standard"]), updated=pl.lit(touched))
    orgs = _set(orgs, gone.filter(pl.col("variant") == 2),
                entitlement_status=pl.lit("suspended"), updated=pl.lit(touched))
    orgs = orgs.join(gone.filter(pl.col("variant") == 1).select("id"), on="id", how="anti")

    swapped = picker.take("SUPPORT_ENTITLEMENT_MISMATCH", orgs.filter(paid_ok), key="customer")
    truth.record("SUPPORT_ENTITLEMENT_MISMATCH", swapped, natural_key=_org_key(),
                 **SIDES, detail=pl.lit("tier differs from the plan's"))
    other = pl.col("support_tier").replace_strict(OTHER_TIER, default="premium")
    orgs = _set(orgs, swapped, support_tier=other, sla_policy=other.replace_strict(SLA_OF_TIER),
                updated=pl.lit(touched))

    covered = picker.take("SUPPORT_ENTITLEMENT_MISMATCH", orgs.filter(
        pl.col("sub_active") & active & pl.col("covered_products").is_not_null()),
        key="customer")
    truth.record("SUPPORT_ENTITLEMENT_MISMATCH", covered, natural_key=_org_key(),
                 **SIDES, detail=pl.lit("covered products differ from the "
                                                  "subscription's"))
    has_api = pl.col("covered_products").str.contains("prod_api")
    toggled = pl.when(has_api).then(pl.col("covered_products").str.replace(",prod_api", "")
                                    .str.replace("prod_api,", "")
                                    ).otherwise(pl.lit("prod_api,") + pl.col("covered_products"))
    orgs = _set(orgs, covered, covered_products=toggled, updated=pl.lit(touched))

    overdue = picker.take("SUPPORT_PAST_DUE_ENTITLEMENT", orgs.filter(
        pl.col("sub_active") & pl.col("has_support") & pl.col("past_due")), key="customer")
    truth.record("SUPPORT_PAST_DUE_ENTITLEMENT", overdue, natural_key=_org_key(),
                 **SIDES, detail=pl.lit("paid entitlement kept while invoices are "
                                                  "past due"))
    orgs = _set(orgs, overdue, entitlement_status=pl.lit("active"), updated=pl.lit(touched))

    n_orphans = picker.rates.count("SUPPORT_OVER_SERVICING", orgs.height // 200)
    orphans = pl.DataFrame({"k": np.arange(1, n_orphans + 1, dtype=np.int64)}).select(
        id=pl.lit(ORPHAN_ID_BASE, pl.Int64) + pl.col("k"),
        name=pl.lit("Legacy account ") + pl.col("k").cast(pl.String),
        external_id=ids("cus_legacy_", pl.col("k"), 4),
        support_tier=pl.lit("premium"), sla_policy=pl.lit(SLA_OF_TIER["premium"]),
        covered_products=pl.lit("prod_core"), entitlement_status=pl.lit("active"),
        valid_from=local_date(pl.lit(AS_OF_EPOCH - 400 * DAY)),
        valid_to=pl.lit(None, pl.Date), created=pl.lit(AS_OF_EPOCH - 400 * DAY),
        updated=pl.lit(AS_OF_EPOCH - 400 * DAY),
    )
    truth.record("SUPPORT_OVER_SERVICING", orphans, natural_key=_org_key(),
                 period=AS_OF_PERIOD, detail=pl.lit("organization of no billing customer"))
    return pl.concat([orgs, orphans], how="diagonal_relaxed")


def _new_credits(chosen: pl.DataFrame, rng: np.random.Generator,
                 promised: pl.Expr) -> pl.DataFrame:
    """Unreferenced credits for customers with no credit note at all (nothing can match)."""
    n = chosen.height
    scale = pl.col("currency").replace_strict(CURRENCY_EXPONENTS, return_dtype=pl.Int64)
    return chosen.with_columns(
        units=pl.Series(rng.integers(20, 500, size=n), dtype=pl.Int64),
        back=pl.Series(rng.integers(0, 40, size=n), dtype=pl.Int64) * DAY,
    ).select(
        "customer", "currency", "entity", "cidx",
        organization_id=pl.lit(ORG_ID_BASE, pl.Int64) + pl.col("cidx"),
        amount_minor=pl.col("units") * pl.when(scale == 0).then(10).otherwise(100),
        reason=pl.lit("SLA breach: resolution time"), promised=promised,
        credit_note_id=pl.lit(None, pl.String), created=promised, updated=promised + 600,
    )


def credit_faults(inputs: SupportInputs, clean: pl.DataFrame, orgs: pl.DataFrame,
                  picker: Picker, truth: Truth, rng: np.random.Generator) -> pl.DataFrame:
    """Credits never billed, credits billed at another amount, and credits still in transit.

    Returns every service credit, numbered, clean and injected together.
    """
    grace = SERVICE_CREDIT_GRACE_DAYS * DAY
    present = orgs.filter(pl.col("customer").is_not_null()).select("customer")
    uncredited = inputs.accounts.join(inputs.credited, on="customer", how="anti").join(
        present, on="customer", how="semi")
    missing = _new_credits(
        picker.take("SERVICE_CREDIT_NOT_BILLED", uncredited, key="customer"), rng,
        pl.lit(AS_OF_EPOCH - grace - 2 * DAY) - pl.col("back")).with_columns(fault=pl.lit(1))
    transit = _new_credits(
        picker.take("SERVICE_CREDIT_IN_TRANSIT", uncredited, key="customer"), rng,
        pl.lit(AS_OF_EPOCH - 2 * DAY) - pl.col("back") % (5 * DAY)
    ).with_columns(fault=pl.lit(3))

    referenced = clean.filter(pl.col("credit_note_id").is_not_null())
    changed = picker.take("SERVICE_CREDIT_NOT_BILLED", referenced, key="customer")
    pct = pl.Series(rng.integers(10, 31, size=changed.height), dtype=pl.Int64)
    changed = changed.with_columns(
        billed=pl.col("amount_minor"),
        amount_minor=pl.col("amount_minor") + pl.max_horizontal(
            pl.lit(2), pl.col("amount_minor") * pct // 100),
        fault=pl.lit(2))
    clean = clean.join(changed.select("customer", "credit_note_id"),
                       on=["customer", "credit_note_id"], how="anti")
    entity = inputs.accounts.select("customer", "entity")
    credits = number_credits(pl.concat(
        [clean, changed.drop("billed"), missing, transit], how="diagonal_relaxed"))
    credits = credits.join(changed.select("customer", "credit_note_id", "billed"),
                           on=["customer", "credit_note_id"], how="left")
    key = pl.lit("service_credit:") + pl.col("id").cast(pl.String)
    period = period_of(pl.col("promised"))
    faults = credits.filter(pl.col("fault").is_not_null()).drop("entity", strict=False).join(
        entity, on="customer", how="left")
    truth.record("SERVICE_CREDIT_NOT_BILLED", faults.filter(pl.col("fault") == 1),
                 natural_key=key, entity="entity", currency="currency", period=period,
                 billing_minor=pl.lit(0), other_minor="amount_minor",
                 difference_minor="amount_minor",
                 detail=pl.lit("no credit note for the promised credit"))
    truth.record("SERVICE_CREDIT_NOT_BILLED", faults.filter(pl.col("fault") == 2),
                 natural_key=key, entity="entity", currency="currency", period=period,
                 billing_minor="billed", other_minor="amount_minor",
                 difference_minor=pl.col("amount_minor") - pl.col("billed"),
                 detail=pl.lit("credit note of another amount"))
    truth.record("SERVICE_CREDIT_IN_TRANSIT", faults.filter(pl.col("fault") == 3),
                 expected=False, natural_key=key, entity="entity", currency="currency",
                 period=period, detail=pl.lit("promised inside the grace period"))
    return credits.drop("fault", "billed")
