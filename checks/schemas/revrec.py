"""Typed revrec records (plain REST): amounts stay decimal *strings* as the contract says,
validated here to be plain decimals with no more places than the currency allows (JPY none);
dates ISO, timestamps UTC.  Columns and types are ``seeds.tables.SCHEMAS["revrec/*"]``.
"""

from __future__ import annotations

from typing import Annotated

import pandera.polars as pa
import polars as pl

from seeds.tables import KEYS

from . import _fields as f

RECOGNITION_METHODS = ("ratable", "point_in_time", "usage")
LINE_STATUSES = ("recognized", "scheduled")

Timestamp = Annotated[pl.Datetime, "us", "UTC"]


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        ordered = True


class RevrecSchedule(_Strict):
    """``revrec/revenue_schedules``: one schedule per invoice line."""

    id: pl.String = f.required()
    invoice_id: pl.String = f.optional()
    invoice_line_id: pl.String = f.optional()
    customer_id: pl.String = f.required()
    legal_entity: pl.String = f.required()
    currency: pl.String = f.required()
    product_id: pl.String = f.required()
    recognition_method: pl.String = f.required()
    total_amount: pl.String = f.required()
    document_date: pl.Date = f.required()
    service_start: pl.Date = f.required()
    service_end: pl.Date = f.required()
    status: pl.String = f.required()
    created_at: Timestamp = f.required()
    updated_at: Timestamp = f.required()

    _required = f.not_empty("id", "customer_id", "legal_entity", "product_id", "status")
    _currency = f.currency("currency", lower=False)
    _method = f.enum("recognition_method", values=RECOGNITION_METHODS)
    _amount = f.decimal_amount("total_amount", currency_column="currency")
    _dates = f.date_range("document_date", "service_start", "service_end", "created_at",
                          "updated_at")
    _key = f.unique_key(*KEYS["revrec/revenue_schedules"])


class RevrecScheduleLine(_Strict):
    """``revrec/revenue_schedule_lines``: no currency on the line, so amounts are held to the
    most places any known currency allows; the schedule's currency is checked downstream."""

    schedule_id: pl.String = f.required()
    line_number: pl.Int64 = f.required()
    period: pl.String = f.required()
    amount: pl.String = f.required()
    status: pl.String = f.required()

    _required = f.not_empty("schedule_id")
    _line_number = f.positive("line_number")
    _period = f.period_format("period")
    _amount = f.decimal_amount("amount", currency_column=None)
    _status = f.enum("status", values=LINE_STATUSES)
    _key = f.unique_key(*KEYS["revrec/revenue_schedule_lines"])


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "revrec/revenue_schedules": RevrecSchedule,
    "revrec/revenue_schedule_lines": RevrecScheduleLine,
}
