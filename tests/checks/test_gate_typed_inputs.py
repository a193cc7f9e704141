"""Files mode: columns that already carry a type (the contract's or a near one)."""

from __future__ import annotations

import polars as pl

from checks.gate import gate
from seeds.generator import CompanySummary
from seeds.tables import SCHEMAS
from tieout.extract.batch import Batch

from .loose import read_table


def test_narrower_and_other_unit_types_are_converted(company500: CompanySummary) -> None:
    typed = read_table(company500.out_dir, "usage/events")
    near = typed.with_columns(
        pl.col("quantity").cast(pl.Int32),
        pl.col("occurred_at").dt.cast_time_unit("ns").dt.replace_time_zone(None),
        pl.col("received_at").dt.convert_time_zone("America/Los_Angeles").dt.cast_time_unit("ms"),
    )
    result = gate(Batch("usage/events", near, "usage/date=2025-01-31/0.parquet"))
    assert result.quarantined == 0
    assert result.clean.equals(typed)


def test_wider_decimals_and_null_columns(company500: CompanySummary) -> None:
    typed = read_table(company500.out_dir, "erp/transaction")
    near = typed.with_columns(pl.col("foreigntotal").cast(pl.Decimal(38, 4)),
                              memo=pl.lit(None, pl.Null))
    result = gate(Batch("erp/transaction", near, "transaction.parquet"))
    assert result.quarantined == 0
    assert result.clean.equals(typed.with_columns(memo=pl.lit(None, pl.String)))
    assert result.clean.schema == pl.Schema(SCHEMAS["erp/transaction"])


def test_float_money_is_refused(company500: CompanySummary) -> None:
    typed = read_table(company500.out_dir, "billing/invoice_lines").head(5)
    floats = typed.with_columns(pl.col("amount").cast(pl.Float64))
    result = gate(Batch("billing/invoice_lines", floats, "lines.csv"))
    assert result.landed == 0
    assert set(result.quarantine.get_column("check")) == {"type"}
    assert result.quarantine.get_column("reason")[0].endswith(
        "is a floating-point number, not an integer")
    assert result.quarantine.get_column("value")[0] == str(float(typed.get_column("amount")[0]))


def test_a_null_required_column_quarantines_every_row(company500: CompanySummary) -> None:
    typed = read_table(company500.out_dir, "billing/customers")
    result = gate(Batch("billing/customers", typed.with_columns(currency=pl.lit(None)), "p"))
    assert result.landed == 0
    assert result.quarantined == typed.height
    assert set(result.quarantine.get_column("reason")) == {"currency is required but missing"}
