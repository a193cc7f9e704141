"""Typed reference data a user edits (currencies, legal entities, chart of accounts, account
mapping, FX rates).  Not fetched from a source, but gated like one when loaded from files.
Columns and types are ``seeds.tables.SCHEMAS["reference/*"]``."""

from __future__ import annotations

from typing import Annotated

import pandera.polars as pa
import polars as pl

from seeds.tables import KEYS

from . import _fields as f

Rate = Annotated[pl.Decimal, 20, 10]


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        ordered = True


class ReferenceCurrency(_Strict):
    """``reference/currencies``."""

    code: pl.String = f.required()
    exponent: pl.Int8 = f.required()
    name: pl.String = f.optional()

    _code = f.currency("code", lower=False)
    _exponent = f.currency_exponent("exponent", code_column="code")
    _key = f.unique_key(*KEYS["reference/currencies"])


class ReferenceLegalEntity(_Strict):
    """``reference/legal_entities``."""

    code: pl.String = f.required()
    name: pl.String = f.optional()
    base_currency: pl.String = f.required()
    erp_subsidiary_id: pl.Int64 = f.required()
    currencies: pl.String = f.required()

    _required = f.not_empty("code")
    _base_currency = f.currency("base_currency", lower=False)
    _currencies = f.currency_list("currencies")
    _key = f.unique_key(*KEYS["reference/legal_entities"])


class ReferenceAccount(_Strict):
    """``reference/chart_of_accounts``."""

    acctnumber: pl.String = f.required()
    name: pl.String = f.optional()
    accttype: pl.String = f.required()

    _required = f.not_empty("acctnumber", "accttype")
    _key = f.unique_key(*KEYS["reference/chart_of_accounts"])


class ReferenceAccountMapping(_Strict):
    """``reference/account_mapping``."""

    event_class: pl.String = f.required()
    debit_acctnumber: pl.String = f.required()
    credit_acctnumber: pl.String = f.required()
    description: pl.String = f.optional()

    _required = f.not_empty("event_class", "debit_acctnumber", "credit_acctnumber")
    _key = f.unique_key(*KEYS["reference/account_mapping"])


class ReferenceFxRate(_Strict):
    """``reference/fx_rates``."""

    rate_date: pl.Date = f.required()
    from_currency: pl.String = f.required()
    to_currency: pl.String = f.required()
    rate: Rate = f.required()

    _currencies = f.currency("from_currency", "to_currency", lower=False)
    _rate = f.positive("rate")
    _dates = f.date_range("rate_date")
    _key = f.unique_key(*KEYS["reference/fx_rates"])


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "reference/currencies": ReferenceCurrency,
    "reference/legal_entities": ReferenceLegalEntity,
    "reference/chart_of_accounts": ReferenceAccount,
    "reference/account_mapping": ReferenceAccountMapping,
    "reference/fx_rates": ReferenceFxRate,
}
