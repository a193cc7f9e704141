"""Typed usage events (files dropped by the product under ``usage/date=YYYY-MM-DD/``).
Columns and types are ``seeds.tables.SCHEMAS["usage/events"]``; natural key ``event_id``."""

from __future__ import annotations

from typing import Annotated

import pandera.polars as pa
import polars as pl

from seeds.tables import KEYS

from . import _fields as f

Timestamp = Annotated[pl.Datetime, "us", "UTC"]


class UsageEvent(pa.DataFrameModel):
    """``usage/events``: a metered quantity is always positive."""

    event_id: pl.String = f.required()
    customer: pl.String = f.required()
    subscription_item: pl.String = f.required()
    metric: pl.String = f.required()
    quantity: pl.Int64 = f.required()
    occurred_at: Timestamp = f.required()
    received_at: Timestamp = f.required()

    _required = f.not_empty("event_id", "customer", "subscription_item", "metric")
    _quantity = f.positive("quantity")
    _dates = f.date_range("occurred_at", "received_at")
    _key = f.unique_key(*KEYS["usage/events"])

    class Config:
        strict = True
        ordered = True


MODELS: dict[str, type[pa.DataFrameModel]] = {"usage/events": UsageEvent}
