"""Typed ERP records (NetSuite-shaped SuiteQL tables): integer internal ids, "T"/"F" flags,
amounts as DECIMAL(20, 2) in the transaction currency, rates DECIMAL(20, 10), UTC timestamps.
Columns and types are ``seeds.tables.SCHEMAS["erp/*"]``; natural keys ``KEYS``.

SuiteQL leaves null columns out of a row, so only what NetSuite always has is required.
"""

from __future__ import annotations

from typing import Annotated

import pandera.polars as pa
import polars as pl

from seeds.tables import KEYS

from . import _fields as f

TRANSACTION_TYPES = ("CustInvc", "CustCred", "CustPymt", "CustRfnd", "Journal")

Money = Annotated[pl.Decimal, 20, 2]
Rate = Annotated[pl.Decimal, 20, 10]
Timestamp = Annotated[pl.Datetime, "us", "UTC"]


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        ordered = True


class NetSuiteCurrency(_Strict):
    """``erp/currency``."""

    id: pl.Int64 = f.required()
    symbol: pl.String = f.required()
    name: pl.String = f.optional()

    _symbol = f.currency("symbol", lower=False)
    _key = f.unique_key(*KEYS["erp/currency"])


class NetSuiteSubsidiary(_Strict):
    """``erp/subsidiary``."""

    id: pl.Int64 = f.required()
    name: pl.String = f.optional()
    externalid: pl.String = f.optional()
    currency: pl.Int64 = f.required()

    _key = f.unique_key(*KEYS["erp/subsidiary"])


class NetSuiteCustomer(_Strict):
    """``erp/customer``."""

    id: pl.Int64 = f.required()
    entityid: pl.String = f.required()
    companyname: pl.String = f.optional()
    externalid: pl.String = f.optional()
    subsidiary: pl.Int64 = f.required()
    currency: pl.Int64 = f.required()
    datecreated: Timestamp = f.required()
    lastmodifieddate: Timestamp = f.required()

    _required = f.not_empty("entityid")
    _dates = f.date_range("datecreated", "lastmodifieddate")
    _key = f.unique_key(*KEYS["erp/customer"])


class NetSuiteAccountingPeriod(_Strict):
    """``erp/accountingperiod``."""

    id: pl.Int64 = f.required()
    periodname: pl.String = f.required()
    startdate: pl.Date = f.required()
    enddate: pl.Date = f.required()
    closed: pl.String = f.required()
    closedondate: Timestamp = f.optional()
    isquarter: pl.String = f.required()
    isyear: pl.String = f.required()
    isadjust: pl.String = f.required()

    _required = f.not_empty("periodname")
    _flags = f.flags("closed", "isquarter", "isyear", "isadjust")
    _dates = f.date_range("startdate", "enddate", "closedondate")
    _key = f.unique_key(*KEYS["erp/accountingperiod"])


class NetSuiteAccount(_Strict):
    """``erp/account``."""

    id: pl.Int64 = f.required()
    acctnumber: pl.String = f.required()
    fullname: pl.String = f.optional()
    accttype: pl.String = f.required()

    _required = f.not_empty("acctnumber", "accttype")
    _key = f.unique_key(*KEYS["erp/account"])


class NetSuiteTransaction(_Strict):
    """``erp/transaction``: journals have no entity; only open documents carry a due date."""

    id: pl.Int64 = f.required()
    tranid: pl.String = f.required()
    type: pl.String = f.required()
    externalid: pl.String = f.optional()
    entity: pl.Int64 = f.optional()
    subsidiary: pl.Int64 = f.required()
    currency: pl.Int64 = f.required()
    exchangerate: Rate = f.required()
    trandate: pl.Date = f.required()
    postingperiod: pl.Int64 = f.required()
    status: pl.String = f.required()
    voided: pl.String = f.required()
    foreigntotal: Money = f.required()
    foreignamountremaining: Money = f.optional()
    appliedto: pl.Int64 = f.optional()
    memo: pl.String = f.optional()
    duedate: pl.Date = f.optional()
    createddate: Timestamp = f.required()
    lastmodifieddate: Timestamp = f.required()

    _required = f.not_empty("tranid", "status")
    _type = f.enum("type", values=TRANSACTION_TYPES)
    _flags = f.flags("voided")
    _rate = f.positive("exchangerate")
    _dates = f.date_range("trandate", "duedate", "createddate", "lastmodifieddate")
    _key = f.unique_key(*KEYS["erp/transaction"])


class NetSuiteTransactionLine(_Strict):
    """``erp/transactionline``."""

    id: pl.Int64 = f.required()
    transaction: pl.Int64 = f.required()
    linesequencenumber: pl.Int64 = f.required()
    mainline: pl.String = f.required()
    taxline: pl.String = f.required()
    account: pl.Int64 = f.required()
    foreignamount: Money = f.required()
    memo: pl.String = f.optional()
    subsidiary: pl.Int64 = f.required()
    custcol_invoice_line: pl.String = f.optional()
    linelastmodifieddate: Timestamp = f.required()

    _flags = f.flags("mainline", "taxline")
    _sequence = f.non_negative("linesequencenumber")
    _dates = f.date_range("linelastmodifieddate")
    _key = f.unique_key(*KEYS["erp/transactionline"])


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "erp/currency": NetSuiteCurrency,
    "erp/subsidiary": NetSuiteSubsidiary,
    "erp/customer": NetSuiteCustomer,
    "erp/accountingperiod": NetSuiteAccountingPeriod,
    "erp/account": NetSuiteAccount,
    "erp/transaction": NetSuiteTransaction,
    "erp/transactionline": NetSuiteTransactionLine,
}
