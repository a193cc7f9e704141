"""Rates files: overrides work, mistakes are named, --clean plants nothing."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from seeds.generator import Rates, RatesError, generate_company


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rates.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("[rates]\nNOT_A_RULE = 0.1\n", "unknown rule code 'NOT_A_RULE'"),
    ("[rates]\nAMOUNT_MISMATCH = 2\n", "must be a number in [0, 1]"),
    ("[rates]\nAMOUNT_MISMATCH = 'x'\n", "must be a number in [0, 1]"),
    ("[timing]\nin_transit = -1\n", "timing in_transit must be an integer"),
    ("[timing]\nsoon = 1\n", "unknown timing case 'soon'"),
    ("[other]\n", "unknown table(s) ['other']"),
    ("rates = [", "is not valid TOML"),
])
def test_bad_rates_files_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RatesError) as err:
        Rates.from_file(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_rates_file(tmp_path: Path) -> None:
    with pytest.raises(RatesError, match="does not exist"):
        Rates.from_file(tmp_path / "nope.toml")


def test_overrides_change_what_is_planted(tmp_path: Path) -> None:
    rates = Rates.from_file(_write(tmp_path, "[rates]\nAMOUNT_MISMATCH = 0.2\n"
                                             "SCHEDULE_MISSING = 0\n[timing]\npast_grace = 4\n"))
    summary = generate_company(tmp_path / "co", seed=3, invoices=1500, rates=rates)
    base = generate_company(tmp_path / "base", seed=3, invoices=1500)
    assert "SCHEDULE_MISSING" not in summary.exceptions
    assert summary.exceptions["AMOUNT_MISMATCH"] > base.exceptions["AMOUNT_MISMATCH"]
    truth = pl.read_csv(summary.out_dir / "ground_truth.csv")
    past_grace = truth.filter((pl.col("rule") == "INVOICE_MISSING_IN_ERP")
                              & pl.col("detail").str.contains("past the"))
    assert past_grace.height == 4


def test_rate_count_policy() -> None:
    rates = Rates({"AMOUNT_MISMATCH": 0.001}, {}, {})
    assert rates.count("AMOUNT_MISMATCH", 0) == 0
    assert rates.count("AMOUNT_MISMATCH", 10) == 1  # a positive rate always plants one
    assert rates.count("AMOUNT_MISMATCH", 100_000) == 100
    assert Rates.clean().count("AMOUNT_MISMATCH", 100_000) == 0
