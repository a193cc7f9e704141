"""Typed support records (Zendesk-shaped): organizations with their support entitlement, and
the service credits agents promised.  Columns and types are ``seeds.tables.SCHEMAS["support/*"]``.

What is held back, and why (each a quarantine reason):

- a tier outside standard | premium | enterprise, or a status outside the known ones: the
  support rules compare tiers with what billing sells, so an unknown value cannot be judged;
- a validity window that ends before it starts (``valid_to`` before ``valid_from``);
- a credit amount that is not a plain decimal with at most its currency's places, a negative
  credit (a credit promised to a customer is never negative: a reversal is a status, not a
  sign), or a currency tieout does not know (upper-case ISO 4217, as Zendesk sends it).

What is deliberately *not* held back: an organization without ``external_id`` (or one naming
no billing customer) is an organization support serves without a billing link - exactly what
the over-servicing rule must see, so it lands; likewise a credit without ``credit_note_id``
(matched by customer, currency and amount, or reported as not billed).  ``name``,
``sla_policy``, ``covered_products`` (an organization may cover no product: ""), ``valid_to``
(an open-ended entitlement) and ``reason`` are optional free text.
"""

from __future__ import annotations

from typing import Annotated

import pandera.polars as pa
import polars as pl

from seeds.tables import KEYS

from . import _fields as f

TIERS = ("standard", "premium", "enterprise")
ENTITLEMENT_STATUSES = ("active", "suspended")
CREDIT_STATUSES = ("promised", "applied")

Timestamp = Annotated[pl.Datetime, "us", "UTC"]


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        ordered = True


class ZendeskOrganization(_Strict):
    """``support/organizations``: the entitlement comes from the organization's fields."""

    id: pl.Int64 = f.required()
    name: pl.String = f.optional()
    external_id: pl.String = f.optional()
    support_tier: pl.String = f.required()
    sla_policy: pl.String = f.optional()
    covered_products: pl.String = f.optional()
    entitlement_status: pl.String = f.required()
    valid_from: pl.Date = f.required()
    valid_to: pl.Date = f.optional()
    created_at: Timestamp = f.required()
    updated_at: Timestamp = f.required()

    _tier = f.enum("support_tier", values=TIERS)
    _status = f.enum("entitlement_status", values=ENTITLEMENT_STATUSES)
    _dates = f.date_range("valid_from", "valid_to", "created_at", "updated_at")
    _window = f.not_before("valid_to", start="valid_from")
    _key = f.unique_key(*KEYS["support/organizations"])


class ZendeskServiceCredit(_Strict):
    """``support/service_credits``: amounts are decimal strings in major units."""

    id: pl.Int64 = f.required()
    organization_id: pl.Int64 = f.required()
    amount: pl.String = f.required()
    currency: pl.String = f.required()
    reason: pl.String = f.optional()
    promised_date: pl.Date = f.required()
    credit_note_id: pl.String = f.optional()
    status: pl.String = f.required()
    created_at: Timestamp = f.required()
    updated_at: Timestamp = f.required()

    _currency = f.currency("currency", lower=False)
    _amount = f.decimal_amount("amount", currency_column="currency")
    _non_negative = f.non_negative_decimal("amount")
    _status = f.enum("status", values=CREDIT_STATUSES)
    _dates = f.date_range("promised_date", "created_at", "updated_at")
    _key = f.unique_key(*KEYS["support/service_credits"])


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "support/organizations": ZendeskOrganization,
    "support/service_credits": ZendeskServiceCredit,
}
