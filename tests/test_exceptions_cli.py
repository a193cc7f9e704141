"""`tieout exceptions list` on a hand-made marts.fct_exceptions (synced into the review state as
a run does): exact CSV, filters, errors."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tieout.cli.exceptions import CSV_COLUMNS
from tieout.cli.main import main
from tieout.review import sync_review
from tieout.warehouse.connection import open_warehouse

from .review.world import CONFIG, DDL, TIMEZONE

ROWS = [
    ("e2", "AMOUNT_MISMATCH", "error", "invoice:in_2", "EU01", "EUR", "2025-11", None,
     Decimal("96.0000"), "erp", Decimal("99.8400"), Decimal("3.8400"), "USD",
     Decimal("4.8600"), False, 'total differs, "quoted", [bold]not markup[/bold]'),
    ("e1", "AMOUNT_MISMATCH", "error", "invoice:in_1", "US01", "USD", "2025-10", None,
     Decimal("12345678901234.5678"), "erp", Decimal("0.0001"), Decimal("-12345678901234.5677"),
     "USD", Decimal("-12345678901234.5677"), True, "line one\nline two"),
    ("e3", "SCHEDULE_MISSING", "error", "invoice_line:il_9", "US01", "JPY", "2025-12",
     "missing", Decimal("34000.0000"), "revrec", None, Decimal("-34000.0000"), "USD",
     Decimal("-240.5800"), False, "no schedule, 1310 h"),
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A configuration whose warehouse holds three exceptions."""
    path = tmp_path / "tieout.toml"
    path.write_text(CONFIG)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(DDL)
        con.executemany("INSERT INTO marts.fct_exceptions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, 'b', NULL, NULL, NULL, now())", ROWS)
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:  # as the nightly run does
        sync_review(con, "run-1", TIMEZONE)
    return path


def _csv(capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tieout: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_csv_has_every_column_and_exact_decimals(config: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exceptions", "list", "--config", str(config), "--format", "csv"]) == 0
    rows = _csv(capsys)
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["exception_id"] for r in rows] == ["e1", "e2", "e3"]  # by rule, natural key
    first = rows[0]
    assert first["billing_amount"] == "12345678901234.5678"
    assert first["other_amount"] == "0.0001"
    assert first["difference_reporting"] == "-12345678901234.5677"
    assert first["is_material"] == "true" and first["timing_status"] == ""
    assert first["reason"] == "line one\nline two"
    assert rows[1]["reason"] == ROWS[0][-1]
    assert rows[2]["other_amount"] == ""


def test_rule_filter_is_case_insensitive(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exceptions", "list", "--config", str(config), "--format", "csv",
                 "--rule", "schedule_missing"]) == 0
    assert [r["exception_id"] for r in _csv(capsys)] == ["e3"]


def test_table_shows_amounts_and_reasons_verbatim(config: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exceptions", "list", "--config", str(config), "--rule",
                 "AMOUNT_MISMATCH"]) == 0
    out = capsys.readouterr().out
    assert "2 exceptions" in out and "-12345678901234.5677" in out
    assert "[bold]not markup[/bold]" in out
    assert "SCHEDULE_MISSING" not in out


def test_unknown_rule_is_one_line_exit_2(config: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exceptions", "list", "--config", str(config), "--rule", "NOPE"]) == 2
    assert "--rule NOPE: unknown rule code" in _one_error_line(capsys)


def test_unknown_format_is_a_usage_error(config: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exceptions", "list", "--config", str(config), "--format", "xml"]) == 2
    assert "'--format'" in _one_error_line(capsys)


def test_missing_warehouse_says_what_to_run(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tieout.toml"
    config.write_text(CONFIG)
    assert main(["exceptions", "list", "--config", str(config)]) == 1
    line = _one_error_line(capsys)
    assert f"no reconciliation in {tmp_path / 'warehouse.duckdb'}" in line
    assert f"run `tieout run --config {config}` first" in line
    assert not (tmp_path / "warehouse.duckdb").exists()  # reading never creates a warehouse


def test_warehouse_without_the_mart_says_what_to_run(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tieout.toml"
    config.write_text(CONFIG)
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    assert main(["exceptions", "list", "--config", str(config), "--format", "csv"]) == 1
    assert "no reconciliation in" in _one_error_line(capsys)


def test_missing_config_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exceptions", "list", "--config", str(tmp_path / "none.toml")]) == 2
    assert "does not exist" in _one_error_line(capsys)


@pytest.mark.parametrize("command", [["exceptions"], ["exceptions", "list"], ["run"]])
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    assert capsys.readouterr().out.startswith("Usage: tieout")
