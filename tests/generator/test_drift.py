"""The next night's change (seeds.generator.drift): the asked share of records, stamped now,
with benign edits only, so an incremental run must still equal the ground truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from seeds.generator import generate_company
from seeds.generator.drift import touch_fraction
from seeds.tables import SCHEMAS

NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
TOUCHED = {"billing/customers": ("updated", "email"),
           "billing/invoices": ("updated", "attempt_count"),
           "erp/transaction": ("lastmodifieddate", "memo"),
           "revrec/revenue_schedules": ("updated_at", None)}


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_company(tmp_path_factory.mktemp("drift") / "co", seed=5,
                            invoices=400).out_dir


def _read(root: Path) -> dict[str, pl.DataFrame]:
    return {t: pl.read_parquet(root / f"{t}.parquet") for t in SCHEMAS
            if (root / f"{t}.parquet").is_file()}


def test_one_percent_is_touched_and_nothing_else_moves(company: Path) -> None:
    before = _read(company)
    touched = touch_fraction(company, 0.01, NOW)
    after = _read(company)
    assert set(touched) == set(TOUCHED)
    for table, frame in before.items():
        changed = after[table]
        assert changed.schema == frame.schema, table
        assert changed.height == frame.height, table
        if table not in TOUCHED:
            assert changed.equals(frame), table
            continue
        stamp, edited = TOUCHED[table]
        moved = [c for c in frame.columns if c not in (stamp, edited)]
        assert changed.select(moved).equals(frame.select(moved)), table
        hits = changed.filter(pl.col(stamp) != frame[stamp])
        assert hits.height == touched[table], table
        assert touched[table] == pytest.approx(frame.height / 100, abs=1), table
        assert (changed.filter(pl.col(stamp) != frame[stamp])[stamp]
                .cast(pl.Int64).n_unique()) == 1, table
        if edited is not None:
            assert (changed[edited] != frame[edited]).fill_null(True).sum() >= hits.height


def test_a_bad_fraction_is_refused(company: Path) -> None:
    with pytest.raises(ValueError, match="not in"):
        touch_fraction(company, 0, NOW)
