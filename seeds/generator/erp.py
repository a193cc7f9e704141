"""The ERP's books: customers, invoices, credit memos, payments, refunds, revenue journals.

Documents are built first as keyed frames in integer minor units (``key`` such as
``inv:in_00000042``), so injections can edit them before ``finalize`` assigns NetSuite-like
internal ids, tran ids and decimal amounts.  Every transaction balances: its lines' signed
amounts (debit positive) sum to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from polars._typing import IntoExpr, PolarsDataType

from tieout.money import CURRENCY_EXPONENTS

from . import reference as ref
from .calendar import AS_OF_EPOCH, local_date, period_of, periods
from .frames import minor_to_decimal_str
from .settlement import Settled

STR, INT, CAT = pl.String, pl.Int64, pl.Categorical
# Low-cardinality columns are categorical: the keyed line frame has millions of rows and is
# rewritten by every fault, so this keeps a million-invoice company inside its memory budget.
TX_COLUMNS: dict[str, PolarsDataType] = {
    "key": STR, "type": CAT, "externalid": STR, "customer": STR, "entity": STR,
    "currency": STR, "trandate": pl.Date, "period": STR, "status": CAT, "voided": CAT,
    "total_minor": INT, "remaining_minor": INT, "applied_key": STR, "memo": STR,
    "duedate": pl.Date, "created": INT, "lastmodified": INT,
}
LINE_COLUMNS: dict[str, PolarsDataType] = {
    "key": STR, "seq": INT, "mainline": CAT, "taxline": CAT, "acct": CAT,
    "amount_minor": INT, "memo": CAT, "invoice_line": STR, "linemod": INT,
}
ACCOUNT_OF_KIND = {"plan": "2300", "support": "2300", "onboarding": "2300", "usage": "1150"}


@dataclass
class ErpDocs:
    """Transactions and lines keyed by document, before internal ids exist."""

    tx: pl.DataFrame
    lines: pl.DataFrame


def sync_lag(epoch_col: str) -> pl.Expr:
    """Seconds until a billing document shows up in the ERP (1 - 30 minutes)."""
    return 60 + (pl.col(epoch_col) * 40503 % 1740)


def _tx(frame: pl.DataFrame, **cols: IntoExpr) -> pl.DataFrame:
    return _shape(frame.select(**cols), TX_COLUMNS)


def _ln(frame: pl.DataFrame, **cols: IntoExpr) -> pl.DataFrame:
    return _shape(frame.select(**cols), LINE_COLUMNS)


def _shape(out: pl.DataFrame, schema: dict[str, PolarsDataType]) -> pl.DataFrame:
    return out.select([
        (pl.col(c) if c in out.columns else pl.lit(None)).cast(t).alias(c)
        for c, t in schema.items()
    ])


def invoice_docs(s: Settled) -> ErpDocs:
    """CustInvc per finalized invoice synced by the snapshot; voids are zeroed in place."""
    inv = s.invoices.with_columns(created_erp=pl.col("finalized_at") + sync_lag("finalized_at"))
    inv = inv.filter(pl.col("created_erp") <= AS_OF_EPOCH)
    void = pl.col("status") == "void"
    tx = _tx(
        inv, key=pl.lit("inv:") + pl.col("id"), type=pl.lit("CustInvc"), externalid=pl.col("id"),
        customer="customer", entity="entity", currency="currency",
        trandate=local_date(pl.col("finalized_at")), period=period_of(pl.col("finalized_at")),
        status=pl.col("status").replace_strict({"open": "A", "paid": "B", "void": "V"}),
        voided=pl.when(void).then(pl.lit("T")).otherwise(pl.lit("F")),
        total_minor=pl.when(void).then(0).otherwise(pl.col("total")),
        remaining_minor="amount_remaining", memo=pl.col("number"),
        duedate=local_date(pl.col("due_date")), created="created_erp",
        lastmodified=pl.max_horizontal("created_erp", "updated"),
    )
    head = inv.select("id", "created_erp", "voided_at", void=void, total="total", tax="tax")
    zero = pl.col("void")
    linemod = pl.max_horizontal("created_erp", "voided_at")
    ar = _ln(head, key=pl.lit("inv:") + pl.col("id"), seq=pl.lit(0), mainline=pl.lit("T"),
             taxline=pl.lit("F"), acct=pl.lit("1100"),
             amount_minor=pl.when(zero).then(0).otherwise(pl.col("total")), linemod=linemod)
    body = s.lines.join(head, left_on="invoice", right_on="id")
    rev = _ln(body, key=pl.lit("inv:") + pl.col("invoice"), seq=pl.col("line_number"),
              mainline=pl.lit("F"), taxline=pl.lit("F"),
              acct=pl.col("item_kind").replace_strict(ACCOUNT_OF_KIND),
              amount_minor=pl.when(zero).then(0).otherwise(-pl.col("amount")),
              memo=pl.col("description"), invoice_line=pl.col("id"), linemod=linemod)
    tax = _ln(head.filter(pl.col("tax") != 0), key=pl.lit("inv:") + pl.col("id"),
              seq=pl.lit(999), mainline=pl.lit("F"), taxline=pl.lit("T"), acct=pl.lit("2200"),
              amount_minor=pl.when(zero).then(0).otherwise(-pl.col("tax")),
              memo=pl.lit("Tax"), linemod=linemod)
    return ErpDocs(tx, pl.concat([ar, rev, tax]))


def settlement_docs(s: Settled) -> ErpDocs:
    """CustPymt per paid invoice, CustCred per credit note, CustRfnd per refunded one."""
    paid = s.invoices.filter(pl.col("status") == "paid")
    pay_key = pl.lit("pay:") + pl.col("id")
    pay = _tx(paid, key=pay_key, type=pl.lit("CustPymt"), externalid=pl.col("charge"),
              customer="customer", entity="entity", currency="currency",
              trandate=local_date(pl.col("paid_at")), period=period_of(pl.col("paid_at")),
              status=pl.lit("C"), voided=pl.lit("F"), total_minor="amount_paid",
              remaining_minor=pl.lit(0), applied_key=pl.lit("inv:") + pl.col("id"),
              created="paid_at", lastmodified="paid_at")
    pay_lines = pl.concat([
        _ln(paid, key=pay_key, seq=pl.lit(0), mainline=pl.lit("T"), taxline=pl.lit("F"),
            acct=pl.lit("1000"), amount_minor="amount_paid", linemod="paid_at"),
        _ln(paid, key=pay_key, seq=pl.lit(1), mainline=pl.lit("F"), taxline=pl.lit("F"),
            acct=pl.lit("1100"), amount_minor=-pl.col("amount_paid"), linemod="paid_at"),
    ])
    cn = s.credit_notes.join(s.invoices.select("id", "entity"), left_on="invoice",
                             right_on="id").with_columns(
        created_erp=pl.col("created") + sync_lag("created"))
    cred_key = pl.lit("cred:") + pl.col("id")
    cred = _tx(cn, key=cred_key, type=pl.lit("CustCred"), externalid="id", customer="customer",
               entity="entity", currency="currency", trandate=local_date(pl.col("created")),
               period=period_of(pl.col("created")), status=pl.lit("B"), voided=pl.lit("F"),
               total_minor="total", remaining_minor=pl.lit(0),
               applied_key=pl.lit("inv:") + pl.col("invoice"), memo="memo",
               created="created_erp", lastmodified="created_erp")
    cnl = s.credit_note_lines.join(cn.select("id", "created_erp"), left_on="credit_note",
                                   right_on="id")
    cred_lines = pl.concat([
        _ln(cn, key=cred_key, seq=pl.lit(0), mainline=pl.lit("T"), taxline=pl.lit("F"),
            acct=pl.lit("1100"), amount_minor=-pl.col("total"), linemod="created_erp"),
        _ln(cnl, key=pl.lit("cred:") + pl.col("credit_note"), seq=pl.lit(1),
            mainline=pl.lit("F"), taxline=pl.lit("F"), acct=pl.lit("2300"),
            amount_minor="amount", invoice_line="invoice_line", linemod="created_erp"),
        _ln(cnl.filter(pl.col("tax_amount") != 0), key=pl.lit("cred:") + pl.col("credit_note"),
            seq=pl.lit(999), mainline=pl.lit("F"), taxline=pl.lit("T"), acct=pl.lit("2200"),
            amount_minor="tax_amount", linemod="created_erp"),
    ])
    refunded = cn.filter(pl.col("type") == "post_payment").with_columns(
        created_rf=pl.col("created_erp") + 60)
    rf_key = pl.lit("rfnd:") + pl.col("id")
    rfnd = _tx(refunded, key=rf_key, type=pl.lit("CustRfnd"),
               externalid=pl.lit("re_") + pl.col("id").str.slice(3), customer="customer",
               entity="entity", currency="currency", trandate=local_date(pl.col("created")),
               period=period_of(pl.col("created")), status=pl.lit("B"), voided=pl.lit("F"),
               total_minor="refund_amount", remaining_minor=pl.lit(0), applied_key=cred_key,
               created="created_rf", lastmodified="created_rf")
    rf_lines = pl.concat([
        _ln(refunded, key=rf_key, seq=pl.lit(0), mainline=pl.lit("T"), taxline=pl.lit("F"),
            acct=pl.lit("1100"), amount_minor="refund_amount", linemod="created_rf"),
        _ln(refunded, key=rf_key, seq=pl.lit(1), mainline=pl.lit("F"), taxline=pl.lit("F"),
            acct=pl.lit("1000"), amount_minor=-pl.col("refund_amount"), linemod="created_rf"),
    ])
    return ErpDocs(pl.concat([pay, cred, rfnd]), pl.concat([pay_lines, cred_lines, rf_lines]))


def recognition_docs(headers: pl.DataFrame, lines: pl.DataFrame) -> ErpDocs:
    """Monthly revenue journals the revrec platform posts for closed periods (non-usage)."""
    cls = {p[0]: p[2] for p in ref.PRODUCTS}
    rec = lines.filter(pl.col("status") == "recognized").join(
        headers.filter(pl.col("recognition_method") != "usage").select(
            "id", "legal_entity", "currency", "product_id"), on="id",
    ).with_columns(cls=pl.col("product_id").replace_strict(cls)).group_by(
        "legal_entity", "currency", "period", "cls").agg(amount=pl.col("amount_minor").sum())
    per = periods().select("period", "enddate", "closedondate")
    rec = rec.join(per, on="period").with_columns(
        key=pl.format("rev:{}|{}|{}|{}", "legal_entity", "currency", "period", "cls"),
        created=pl.col("closedondate").dt.epoch("s") - 86400,
    )
    tx = _tx(rec, key="key", type=pl.lit("Journal"),
             externalid=pl.format("revrec-{}-{}-{}-{}", "legal_entity", "currency", "period",
                                  "cls"),
             entity="legal_entity", currency="currency", trandate="enddate", period="period",
             status=pl.lit("B"), voided=pl.lit("F"), total_minor="amount",
             remaining_minor=pl.lit(0), memo=pl.format("Revenue recognition {} {}", "cls",
                                                        "period"),
             created="created", lastmodified="created")
    ln = pl.concat([
        _ln(rec, key="key", seq=pl.lit(1), mainline=pl.lit("F"), taxline=pl.lit("F"),
            acct=pl.lit(ref.DEFERRED_ACCOUNT), amount_minor="amount", linemod="created"),
        _ln(rec, key="key", seq=pl.lit(2), mainline=pl.lit("F"), taxline=pl.lit("F"),
            acct=pl.col("cls").replace_strict(ref.REVENUE_ACCOUNT_OF_CLASS),
            amount_minor=-pl.col("amount"), linemod="created"),
    ])
    return ErpDocs(tx, ln)


def combine(*docs: ErpDocs) -> ErpDocs:
    """Concatenate document sets (types aligned)."""
    return ErpDocs(pl.concat([d.tx for d in docs], how="vertical_relaxed"),
                   pl.concat([d.lines for d in docs], how="vertical_relaxed"))


def _amount(minor: str) -> pl.Expr:
    exp = pl.col("currency").replace_strict(CURRENCY_EXPONENTS, return_dtype=pl.Int64)
    return minor_to_decimal_str(pl.col(minor), exp).cast(pl.Decimal(20, 2))


LINE_CHUNK = 400_000  # transactions per batch when shaping GL lines


def _final_lines(lines: pl.DataFrame, tx_ids: pl.DataFrame) -> pl.DataFrame:
    """GL lines in (transaction, sequence) order with line ids, shaped in bounded batches."""
    ts = lambda c: pl.from_epoch(c, time_unit="s").dt.replace_time_zone("UTC")  # noqa: E731
    parts, first_id = [], 1
    for start in range(0, tx_ids.height, LINE_CHUNK):
        batch = lines.join(tx_ids.slice(start, LINE_CHUNK), on="key").sort("id", "seq")
        parts.append(batch.select(
            id=pl.int_range(first_id, first_id + pl.len()), transaction="id",
            linesequencenumber=pl.int_range(0, pl.len()).over("id"),
            mainline=pl.col("mainline").cast(pl.String),
            taxline=pl.col("taxline").cast(pl.String),
            account=pl.col("acct").cast(pl.String).replace_strict(ref.ACCOUNT_ID,
                                                                  return_dtype=pl.Int64),
            foreignamount=_amount("amount_minor"), memo=pl.col("memo").cast(pl.String),
            subsidiary=pl.col("entity").replace_strict(ref.SUBSIDIARY_OF_ENTITY),
            custcol_invoice_line="invoice_line", linelastmodifieddate=ts("linemod"),
        ))
        first_id += batch.height
    return pl.concat(parts)


def finalize(docs: ErpDocs, customers: pl.DataFrame,
             fx: pl.DataFrame) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Assign internal ids and shape the ERP tables of ``seeds.tables``.

    Also returns (key, id) for every document, so ground truth can name ERP records.
    """
    cust = customers.sort("cidx").select(
        id=pl.col("cidx") + 1, entityid=pl.lit("CUST-") + pl.col("cidx").cast(pl.String)
        .str.zfill(7), companyname="name", externalid="id",
        subsidiary=pl.col("entity").replace_strict(ref.SUBSIDIARY_OF_ENTITY),
        currency=pl.col("currency").replace_strict(ref.ERP_CURRENCY_IDS),
        datecreated=pl.from_epoch("created", time_unit="s").dt.replace_time_zone("UTC"),
        lastmodifieddate=pl.from_epoch("created", time_unit="s").dt.replace_time_zone("UTC"),
    )
    per = periods()
    tx = docs.tx.sort("created", "key").with_columns(id=pl.int_range(1, pl.len() + 1) + 1000)
    prefix = pl.col("type").replace_strict({"CustInvc": "INV", "CustCred": "CM",
                                            "CustPymt": "PYMT", "CustRfnd": "RFND",
                                            "Journal": "JE"})
    base = pl.col("entity").replace_strict(ref.BASE_OF_ENTITY)
    rates = fx.select(trandate="rate_date", currency="from_currency", base="to_currency",
                      exchangerate="rate")
    ids_of = tx.select(applied_key="key", appliedto="id")
    ts = lambda c: pl.from_epoch(c, time_unit="s").dt.replace_time_zone("UTC")  # noqa: E731
    out_tx = tx.with_columns(base=base).join(rates, on=["trandate", "currency", "base"],
                                             how="left").join(
        ids_of, on="applied_key", how="left").join(
        cust.select(customer="externalid", entity_id="id"), on="customer", how="left").join(
        per.select("period", postingperiod="id"), on="period", how="left",
    ).select(
        "id", tranid=prefix + pl.col("id").cast(pl.String), type="type", externalid="externalid",
        entity="entity_id",
        subsidiary=pl.col("entity").replace_strict(ref.SUBSIDIARY_OF_ENTITY),
        currency_id=pl.col("currency").replace_strict(ref.ERP_CURRENCY_IDS),
        exchangerate=pl.col("exchangerate").fill_null(pl.lit("1").cast(pl.Decimal(20, 10))),
        trandate="trandate", postingperiod="postingperiod", status="status", voided="voided",
        foreigntotal=_amount("total_minor"), foreignamountremaining=_amount("remaining_minor"),
        appliedto="appliedto", memo="memo", duedate="duedate",
        createddate=ts("created"), lastmodifieddate=ts("lastmodified"),
    ).rename({"currency_id": "currency"}).sort("id")
    out_lines = _final_lines(docs.lines, tx.select("key", "id", "entity", "currency"))
    account = pl.DataFrame({
        "id": [ref.ACCOUNT_ID[a[0]] for a in ref.ACCOUNTS], "acctnumber": [a[0] for a in
                                                                           ref.ACCOUNTS],
        "fullname": [a[1] for a in ref.ACCOUNTS], "accttype": [a[2] for a in ref.ACCOUNTS]})
    currency = pl.DataFrame({"id": list(ref.ERP_CURRENCY_IDS.values()),
                             "symbol": list(ref.ERP_CURRENCY_IDS),
                             "name": [ref.CURRENCY_NAMES[c] for c in ref.ERP_CURRENCY_IDS]})
    subsidiary = pl.DataFrame({
        "id": [e[3] for e in ref.ENTITIES], "name": [e[1] for e in ref.ENTITIES],
        "externalid": [e[0] for e in ref.ENTITIES],
        "currency": [ref.ERP_CURRENCY_IDS[e[2]] for e in ref.ENTITIES]})
    period_tbl = per.with_columns(isquarter=pl.lit("F"), isyear=pl.lit("F"), isadjust=pl.lit("F"))
    tables = {"erp/transaction": out_tx, "erp/transactionline": out_lines,
              "erp/customer": cust, "erp/account": account, "erp/currency": currency,
              "erp/subsidiary": subsidiary, "erp/accountingperiod": period_tbl}
    return tables, tx.select("key", "id")
