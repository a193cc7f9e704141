"""Same arguments, same company: hashed row by row, independently of the writer's digests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from seeds.generator import CompanySummary, generate_company
from seeds.tables import KEYS, SCHEMAS


def _row_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every table's rows, sorted and serialised as CSV (not the writer's digest)."""
    out = {}
    for name in SCHEMAS:
        if name == "usage/events":
            frame = pl.read_parquet(root / "usage" / "*" / "*.parquet", hive_partitioning=False)
        else:
            frame = pl.read_parquet(root / f"{name}.parquet")
        out[name] = hashlib.sha256(frame.sort(frame.columns).write_csv().encode()).hexdigest()
    return out


@pytest.mark.slow
def test_same_arguments_give_the_same_content(tmp_path: Path, company: CompanySummary) -> None:
    again = generate_company(tmp_path / "again", seed=7, invoices=3000)
    assert _row_hashes(again.out_dir) == _row_hashes(company.out_dir)
    assert (again.out_dir / "ground_truth.csv").read_bytes() == (
        company.out_dir / "ground_truth.csv").read_bytes()
    assert again.digests == company.digests


def test_another_seed_gives_another_company(tmp_path: Path, company: CompanySummary) -> None:
    other = generate_company(tmp_path / "other", seed=8, invoices=3000)
    same = {k for k, v in other.digests.items() if company.digests[k] == v}
    assert "billing/invoices" not in same and "erp/transaction" not in same
    assert same <= {name for name in SCHEMAS if name.startswith(("reference/", "erp/account",
                                                                  "erp/currency",
                                                                  "erp/subsidiary",
                                                                  "erp/accountingperiod",
                                                                  "billing/products",
                                                                  "billing/prices"))}


@pytest.mark.parametrize("which", ["company", "clean_company"])
def test_every_table_has_a_unique_natural_key(which: str, request: pytest.FixtureRequest) -> None:
    root = request.getfixturevalue(which).out_dir
    for name, key in KEYS.items():
        if name == "usage/events":
            frame = pl.read_parquet(root / "usage" / "*" / "*.parquet", hive_partitioning=False)
        else:
            frame = pl.read_parquet(root / f"{name}.parquet")
        assert frame.height > 0, name
        assert frame.select(key).is_duplicated().sum() == 0, name


def test_manifest_and_config_are_written(company: CompanySummary) -> None:
    manifest = json.loads((company.out_dir / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["rows"]["billing/invoices"] >= 3000
    assert set(manifest["digests"]) == set(SCHEMAS)
    import tomllib

    config = tomllib.loads((company.out_dir / "tieout.toml").read_text())
    assert config["company"]["accounting_timezone"] == "America/Los_Angeles"
    assert config["reconciliation"]["absolute_tolerance"]["JPY"] == "1"
    assert {s["mode"] for s in config["sources"].values()} == {"files"}
    assert all("token_env" in s for n, s in config["sources"].items() if n != "usage")


def test_usage_is_partitioned_by_day_received(company: CompanySummary) -> None:
    parts = sorted(p.name for p in (company.out_dir / "usage").iterdir())
    assert len(parts) > 300 and all(p.startswith("date=") for p in parts)
    sample = company.out_dir / "usage" / parts[10]
    day = parts[10].removeprefix("date=")
    frame = pl.read_parquet(sample / "*.parquet", hive_partitioning=False)
    assert set(frame["received_at"].dt.date().cast(pl.String)) == {day}
