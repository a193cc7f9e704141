"""Every table of generated companies passes the gate untouched, loose or already typed."""

from __future__ import annotations

import polars as pl
import pytest

from checks.gate import QUARANTINE_SCHEMA, gate
from seeds.generator import CompanySummary
from seeds.tables import SCHEMAS, conform
from tieout.extract.batch import Batch, loose_frame

from .loose import read_table, render_loose

TABLES = list(SCHEMAS)


@pytest.fixture(params=["company500", "clean500"])
def generated(request: pytest.FixtureRequest) -> CompanySummary:
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("table", TABLES)
def test_loose_table_lands_exactly(generated: CompanySummary, table: str) -> None:
    typed = read_table(generated.out_dir, table)
    assert typed.height > 0
    loose = render_loose(table, typed)
    assert all(dtype == pl.String for dtype in loose.dtypes)

    result = gate(Batch(table, loose, f"{table} loose"))

    assert result.quarantined == 0, result.quarantine.get_column("reason").head(5).to_list()
    assert result.quarantine.is_empty()
    assert result.quarantine.schema == QUARANTINE_SCHEMA
    assert (result.received, result.landed) == (typed.height, typed.height)
    assert result.clean.schema == pl.Schema(SCHEMAS[table])
    assert result.clean.equals(typed)
    assert result.clean.equals(conform(table, typed))


@pytest.mark.parametrize("table", TABLES)
def test_typed_table_passes_unchanged(generated: CompanySummary, table: str) -> None:
    typed = read_table(generated.out_dir, table)
    result = gate(Batch(table, typed, f"{table} typed"))
    assert result.quarantined == 0
    assert result.clean.equals(typed)


def test_loose_frame_records_pass(company500: CompanySummary) -> None:
    """What a connector builds with ``loose_frame`` from JSON records gates cleanly."""
    typed = read_table(company500.out_dir, "billing/invoices")
    records = typed.head(50).to_dicts()
    result = gate(Batch("billing/invoices", loose_frame("billing/invoices", records), "page 1"))
    assert result.quarantined == 0
    assert result.clean.equals(typed.head(50))


def test_mixed_loose_and_typed_columns(company500: CompanySummary) -> None:
    """A files-mode frame may carry some columns typed already: those are kept as they are."""
    typed = read_table(company500.out_dir, "erp/transaction")
    loose = render_loose("erp/transaction", typed)
    mixed = loose.with_columns(typed.select("id", "foreigntotal", "createddate", "trandate"))
    result = gate(Batch("erp/transaction", mixed, "export.parquet"))
    assert result.quarantined == 0
    assert result.clean.equals(typed)


def test_empty_batch(company500: CompanySummary) -> None:
    loose = render_loose("usage/events", read_table(company500.out_dir, "usage/events")).head(0)
    result = gate(Batch("usage/events", loose, "empty file"))
    assert (result.received, result.landed, result.quarantined) == (0, 0, 0)
    assert result.clean.schema == pl.Schema(SCHEMAS["usage/events"])
