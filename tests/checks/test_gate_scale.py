"""A million-row loose batch gates in one vectorised pass (timing lives in benchmarks/)."""

from __future__ import annotations

import polars as pl
import pytest

from checks.gate import gate
from seeds.generator import CompanySummary
from tieout.extract.batch import Batch

from .loose import read_table, render_loose

TABLE = "billing/invoice_lines"
ROWS = 1_000_000


@pytest.mark.slow
def test_million_row_batch(company500: CompanySummary) -> None:
    loose = render_loose(TABLE, read_table(company500.out_dir, TABLE))
    big = (
        pl.concat([loose] * (ROWS // loose.height + 1)).head(ROWS)
        .with_columns(id=pl.format("il_{}", pl.int_range(pl.len())))
    )
    every_1000th = pl.int_range(pl.len()) % 1000 == 0
    big = big.with_columns(amount=pl.when(every_1000th).then(pl.lit("12.50"))
                           .otherwise(pl.col("amount")))

    result = gate(Batch(TABLE, big, "GET /v1/invoices (all lines)"))

    assert result.received == ROWS
    assert result.quarantined == ROWS // 1000
    assert result.landed == ROWS - ROWS // 1000
    assert set(result.quarantine.get_column("check")) == {"type"}
    assert result.clean.height == result.landed
