"""Typed billing records (Stripe-shaped): integer minor units, lowercase ISO currency, epoch
seconds.  Columns and types are ``seeds.tables.SCHEMAS["billing/*"]``; natural keys ``KEYS``.

Required means the Stripe object always carries the field (ids, references, status, currency,
amounts, created/updated); the rest may be null.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from seeds.tables import KEYS

from . import _fields as f

INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")
SUBSCRIPTION_STATUSES = ("incomplete", "incomplete_expired", "trialing", "active", "past_due",
                         "canceled", "unpaid", "paused")
CREDIT_NOTE_STATUSES = ("issued", "void")
CREDIT_NOTE_TYPES = ("pre_payment", "post_payment", "mixed")
CREDIT_NOTE_REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")
BILLING_REASONS = ("automatic_pending_invoice_item_invoice", "manual", "quote_accept",
                   "subscription", "subscription_create", "subscription_cycle",
                   "subscription_threshold", "subscription_update", "upcoming")
INTERVALS = ("day", "week", "month", "year")
USAGE_TYPES = ("licensed", "metered", "one_time")
LINE_TYPES = ("invoiceitem", "subscription")
RECOGNITION = ("ratable", "point_in_time", "usage")


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True  # exactly the contract's columns
        ordered = True


class StripeProduct(_Strict):
    """``billing/products``."""

    id: pl.String = f.required()
    name: pl.String = f.optional()
    revenue_class: pl.String = f.optional()
    recognition: pl.String = f.required()
    created: pl.Int64 = f.required()
    updated: pl.Int64 = f.required()

    _required = f.not_empty("id", "recognition")
    _recognition = f.enum("recognition", values=RECOGNITION)
    _dates = f.epoch_range("created", "updated")
    _key = f.unique_key(*KEYS["billing/products"])


class StripePrice(_Strict):
    """``billing/prices``."""

    id: pl.String = f.required()
    product: pl.String = f.required()
    currency: pl.String = f.required()
    unit_amount: pl.Int64 = f.required()
    recurring_interval: pl.String = f.optional()
    usage_type: pl.String = f.optional()
    included_quantity: pl.Int64 = f.optional()
    created: pl.Int64 = f.required()
    updated: pl.Int64 = f.required()

    _required = f.not_empty("id", "product")
    _currency = f.currency("currency", lower=True)
    _interval = f.enum("recurring_interval", values=INTERVALS)
    _usage_type = f.enum("usage_type", values=USAGE_TYPES)
    _non_negative = f.non_negative("unit_amount", "included_quantity")
    _dates = f.epoch_range("created", "updated")
    _key = f.unique_key(*KEYS["billing/prices"])


class StripeCustomer(_Strict):
    """``billing/customers``."""

    id: pl.String = f.required()
    name: pl.String = f.optional()
    email: pl.String = f.optional()
    currency: pl.String = f.required()
    legal_entity: pl.String = f.required()
    created: pl.Int64 = f.required()
    updated: pl.Int64 = f.required()

    _required = f.not_empty("id", "legal_entity")
    _currency = f.currency("currency", lower=True)
    _dates = f.epoch_range("created", "updated")
    _key = f.unique_key(*KEYS["billing/customers"])


class StripeSubscription(_Strict):
    """``billing/subscriptions``."""

    id: pl.String = f.required()
    customer: pl.String = f.required()
    status: pl.String = f.required()
    currency: pl.String = f.required()
    billing_interval: pl.String = f.required()
    start_date: pl.Int64 = f.required()
    current_period_start: pl.Int64 = f.required()
    current_period_end: pl.Int64 = f.required()
    cancel_at_period_end: pl.Boolean = f.required()
    canceled_at: pl.Int64 = f.optional()
    ended_at: pl.Int64 = f.optional()
    created: pl.Int64 = f.required()
    updated: pl.Int64 = f.required()

    _required = f.not_empty("id", "customer")
    _status = f.enum("status", values=SUBSCRIPTION_STATUSES)
    _currency = f.currency("currency", lower=True)
    _interval = f.enum("billing_interval", values=INTERVALS)
    _dates = f.epoch_range("start_date", "current_period_start", "current_period_end",
                         "canceled_at", "ended_at", "created", "updated")
    _key = f.unique_key(*KEYS["billing/subscriptions"])


class StripeSubscriptionItem(_Strict):
    """``billing/subscription_items``."""

    id: pl.String = f.required()
    subscription: pl.String = f.required()
    price: pl.String = f.required()
    product: pl.String = f.optional()
    quantity: pl.Int64 = f.optional()  # metered items have none
    created: pl.Int64 = f.required()
    updated: pl.Int64 = f.required()

    _required = f.not_empty("id", "subscription", "price")
    _quantity = f.non_negative("quantity")
    _dates = f.epoch_range("created", "updated")
    _key = f.unique_key(*KEYS["billing/subscription_items"])


class StripeInvoice(_Strict):
    """``billing/invoices``."""

    id: pl.String = f.required()
    number: pl.String = f.optional()  # drafts have no number yet
    customer: pl.String = f.required()
    subscription: pl.String = f.optional()
    status: pl.String = f.required()
    currency: pl.String = f.required()
    billing_reason: pl.String = f.optional()
    subtotal: pl.Int64 = f.required()
    total_discount: pl.Int64 = f.required()
    tax: pl.Int64 = f.required()
    total: pl.Int64 = f.required()
    amount_due: pl.Int64 = f.required()
    amount_paid: pl.Int64 = f.required()
    amount_remaining: pl.Int64 = f.required()
    period_start: pl.Int64 = f.required()
    period_end: pl.Int64 = f.required()
    created: pl.Int64 = f.required()
    finalized_at: pl.Int64 = f.optional()
    paid_at: pl.Int64 = f.optional()
    voided_at: pl.Int64 = f.optional()
    due_date: pl.Int64 = f.optional()
    attempt_count: pl.Int64 = f.required()
    charge: pl.String = f.optional()
    updated: pl.Int64 = f.required()

    _required = f.not_empty("id", "customer")
    _status = f.enum("status", values=INVOICE_STATUSES)
    _currency = f.currency("currency", lower=True)
    _billing_reason = f.enum("billing_reason", values=BILLING_REASONS)
    _non_negative = f.non_negative("amount_due", "amount_paid", "amount_remaining",
                                 "attempt_count")
    _dates = f.epoch_range("period_start", "period_end", "created", "finalized_at", "paid_at",
                         "voided_at", "due_date", "updated")
    _key = f.unique_key(*KEYS["billing/invoices"])


class StripeInvoiceLine(_Strict):
    """``billing/invoice_lines``: amounts may be negative (proration credits)."""

    id: pl.String = f.required()
    invoice: pl.String = f.required()
    line_number: pl.Int64 = f.required()
    subscription_item: pl.String = f.optional()
    price: pl.String = f.optional()
    product: pl.String = f.optional()
    description: pl.String = f.optional()
    quantity: pl.Int64 = f.optional()
    amount: pl.Int64 = f.required()
    discount_amount: pl.Int64 = f.required()
    tax_amount: pl.Int64 = f.required()
    currency: pl.String = f.required()
    period_start: pl.Int64 = f.required()
    period_end: pl.Int64 = f.required()
    proration: pl.Boolean = f.required()
    type: pl.String = f.required()

    _required = f.not_empty("id", "invoice")
    _currency = f.currency("currency", lower=True)
    _type = f.enum("type", values=LINE_TYPES)
    _non_negative = f.non_negative("line_number", "quantity", "discount_amount")
    _dates = f.epoch_range("period_start", "period_end")
    _key = f.unique_key(*KEYS["billing/invoice_lines"])


class StripeCreditNote(_Strict):
    """``billing/credit_notes``."""

    id: pl.String = f.required()
    number: pl.String = f.optional()
    invoice: pl.String = f.required()
    customer: pl.String = f.required()
    currency: pl.String = f.required()
    status: pl.String = f.required()
    type: pl.String = f.required()
    reason: pl.String = f.optional()
    subtotal: pl.Int64 = f.required()
    tax: pl.Int64 = f.required()
    total: pl.Int64 = f.required()
    refund_amount: pl.Int64 = f.required()
    memo: pl.String = f.optional()
    created: pl.Int64 = f.required()
    updated: pl.Int64 = f.required()

    _required = f.not_empty("id", "invoice", "customer")
    _currency = f.currency("currency", lower=True)
    _status = f.enum("status", values=CREDIT_NOTE_STATUSES)
    _type = f.enum("type", values=CREDIT_NOTE_TYPES)
    _reason = f.enum("reason", values=CREDIT_NOTE_REASONS)
    _non_negative = f.non_negative("subtotal", "tax", "total", "refund_amount")
    _dates = f.epoch_range("created", "updated")
    _key = f.unique_key(*KEYS["billing/credit_notes"])


class StripeCreditNoteLine(_Strict):
    """``billing/credit_note_lines``."""

    id: pl.String = f.required()
    credit_note: pl.String = f.required()
    invoice_line: pl.String = f.optional()
    amount: pl.Int64 = f.required()
    tax_amount: pl.Int64 = f.required()

    _required = f.not_empty("id", "credit_note")
    _non_negative = f.non_negative("amount", "tax_amount")
    _key = f.unique_key(*KEYS["billing/credit_note_lines"])


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "billing/products": StripeProduct,
    "billing/prices": StripePrice,
    "billing/customers": StripeCustomer,
    "billing/subscriptions": StripeSubscription,
    "billing/subscription_items": StripeSubscriptionItem,
    "billing/invoices": StripeInvoice,
    "billing/invoice_lines": StripeInvoiceLine,
    "billing/credit_notes": StripeCreditNote,
    "billing/credit_note_lines": StripeCreditNoteLine,
}
