"""Editing keyed ERP documents: the small toolkit the ERP fault modules share."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .erp import LINE_COLUMNS, TX_COLUMNS, ErpDocs

DEFERRED = "2300"


@dataclass
class ErpWork:
    """ERP documents being edited, plus the billing facts that choose and price the edits."""

    docs: ErpDocs
    invoices: pl.DataFrame  # one row per CustInvc key with billing facts (see invoice_pool)

    def drop(self, keys: pl.Series | list[str]) -> None:
        """Remove whole documents (header and lines)."""
        keys = list(keys)
        self.docs = ErpDocs(self.docs.tx.filter(~pl.col("key").is_in(keys)),
                            self.docs.lines.filter(~pl.col("key").is_in(keys)))

    def set_tx(self, updates: pl.DataFrame) -> None:
        """Overwrite header columns for the keys in ``updates`` (other columns untouched)."""
        cols = [c for c in updates.columns if c != "key"]
        tx = self.docs.tx.join(updates.rename({c: f"{c}__new" for c in cols}), on="key",
                               how="left")
        tx = tx.with_columns([
            pl.when(pl.col("key").is_in(updates["key"].to_list()))
            .then(pl.col(f"{c}__new")).otherwise(pl.col(c)).cast(TX_COLUMNS[c]).alias(c)
            for c in cols]).select(list(TX_COLUMNS))
        self.docs = ErpDocs(tx, self.docs.lines)

    def add_to_lines(self, deltas: pl.DataFrame) -> None:
        """Add ``delta`` to the amount of lines identified by (key, seq)."""
        lines = self.docs.lines.join(deltas.select("key", "seq", "delta"), on=["key", "seq"],
                                     how="left").with_columns(
            amount_minor=pl.col("amount_minor") + pl.col("delta").fill_null(0)).drop("delta")
        self.docs = ErpDocs(self.docs.tx, lines)

    def set_lines(self, updates: pl.DataFrame) -> None:
        """Overwrite line columns for the (key, seq) pairs in ``updates``."""
        cols = [c for c in updates.columns if c not in ("key", "seq")]
        marked = updates.with_columns(__hit=pl.lit(True))
        lines = self.docs.lines.join(marked.rename({c: f"{c}__new" for c in cols}),
                                     on=["key", "seq"], how="left")
        lines = lines.with_columns([
            pl.when(pl.col("__hit").fill_null(False)).then(pl.col(f"{c}__new"))
            .otherwise(pl.col(c)).cast(LINE_COLUMNS[c]).alias(c) for c in cols
        ]).select(list(LINE_COLUMNS))
        self.docs = ErpDocs(self.docs.tx, lines)

    def add(self, tx: pl.DataFrame, lines: pl.DataFrame) -> None:
        """Append new documents (already in the keyed shape)."""
        self.docs = ErpDocs(
            pl.concat([self.docs.tx, tx.select(list(TX_COLUMNS))], how="vertical_relaxed"),
            pl.concat([self.docs.lines, lines.select(list(LINE_COLUMNS))],
                      how="vertical_relaxed"))

    def clone(self, keys: pl.DataFrame, prefix: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Copies of documents under new keys ``<prefix>:<old key>`` (not yet added)."""
        new = pl.lit(prefix + ":") + pl.col("key")
        tx = self.docs.tx.join(keys.select("key"), on="key").with_columns(key=new)
        lines = self.docs.lines.join(keys.select("key"), on="key").with_columns(key=new)
        return tx, lines

    def first_deferred_seq(self, keys: pl.DataFrame) -> pl.DataFrame:
        """(key, seq) of each document's first deferred-revenue line."""
        return self.docs.lines.join(keys.select("key"), on="key").filter(
            pl.col("acct") == DEFERRED).group_by("key").agg(seq=pl.col("seq").min())


def invoice_pool(docs: ErpDocs, invoices: pl.DataFrame, credit_notes: pl.DataFrame,
                 closes: pl.DataFrame) -> pl.DataFrame:
    """Each ERP invoice with the billing facts fault selection needs."""
    deferred = docs.lines.filter(pl.col("acct") == DEFERRED).group_by("key").agg(
        deferred=-pl.col("amount_minor").sum())
    credited = credit_notes.select(invoice="invoice").unique().with_columns(
        has_credit=pl.lit(True))
    tx = docs.tx.filter(pl.col("type") == "CustInvc").select(
        "key", invoice="externalid", erp_status="status", period="period",
        created_erp="created", total_minor="total_minor", remaining_minor="remaining_minor")
    bill = invoices.select(
        invoice="id", customer="customer", entity="entity", currency="currency",
        status="status", total="total", tax="tax", amount_remaining="amount_remaining",
        finalized_at="finalized_at", billing_reason="billing_reason")
    return tx.join(bill, on="invoice").join(deferred, on="key", how="left").join(
        credited, on="invoice", how="left").join(closes, on="period", how="left").with_columns(
        deferred=pl.col("deferred").fill_null(0), has_credit=pl.col("has_credit")
        .fill_null(False)).sort("key")
