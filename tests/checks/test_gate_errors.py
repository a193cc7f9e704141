"""Batches the gate cannot read at all raise one-line ``GateError`` and land nothing."""

from __future__ import annotations

import polars as pl
import pytest

from checks.gate import GateError, GateResult, gate
from seeds.generator import CompanySummary
from tieout.errors import TieoutError
from tieout.extract.batch import Batch

from .loose import read_table, render_loose


def test_gate_error_is_a_tieout_error() -> None:
    assert issubclass(GateError, TieoutError)


def test_missing_contract_columns(company500: CompanySummary) -> None:
    loose = render_loose("billing/invoices", read_table(company500.out_dir, "billing/invoices"))
    with pytest.raises(GateError) as err:
        gate(Batch("billing/invoices", loose.drop("currency", "total"), "GET /v1/invoices p3"))
    message = str(err.value)
    assert message == ("billing/invoices from GET /v1/invoices p3: missing contract column(s) "
                       "currency, total")
    assert "\n" not in message


@pytest.mark.parametrize("frame", [None, {"id": ["x"]}, "id\nx", pl.LazyFrame({"id": ["x"]}),
                                   pl.Series("id", ["x"])])
def test_not_a_dataframe(frame: object) -> None:
    with pytest.raises(GateError, match=r"^usage/events from drop\.ndjson: expected a polars "
                                        r"DataFrame, got \w+$"):
        gate(Batch("usage/events", frame, "drop.ndjson"))  # type: ignore[arg-type]


def test_unknown_table() -> None:
    with pytest.raises(GateError, match=r"^billing/refunds from x: not a contract table$"):
        gate(Batch("billing/refunds", pl.DataFrame({"id": ["r"]}), "x"))


def test_extra_columns_are_dropped_but_kept_in_the_record(company500: CompanySummary) -> None:
    typed = read_table(company500.out_dir, "usage/events")
    loose = render_loose("usage/events", typed).with_columns(date=pl.lit("2025-01-31"),
                                                             quantity=pl.lit("-1"))
    result = gate(Batch("usage/events", loose, "usage/date=2025-01-31/0.parquet"))
    assert result.landed == 0
    assert '"date":"2025-01-31"' in result.quarantine.get_column("record")[0]


def test_result_refuses_counts_that_do_not_add_up() -> None:
    empty = pl.DataFrame()
    with pytest.raises(AssertionError, match="received 3 != landed 1 \\+ quarantined 1"):
        GateResult(table="t", origin="o", clean=empty, quarantine=empty, received=3, landed=1,
                   quarantined=1)
