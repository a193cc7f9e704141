"""Files mode lands exactly what the source wrote, idempotently, all or nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from seeds.generator import CompanySummary
from seeds.tables import KEYS, SCHEMAS, conform
from tieout.config import TieoutConfig, load_config
from tieout.errors import TieoutError
from tieout.extract.service import run_extraction
from tieout.warehouse.connection import open_warehouse
from tieout.warehouse.schema import raw_table

LANDED = [t for t in SCHEMAS]
EXPORTED = ("billing", "erp", "revrec", "support")  # sources whose exports are one file a table


def raw_frame(con: duckdb.DuckDBPyConnection, table: str, *, meta: bool = False) -> pl.DataFrame:
    cols = "*" if meta else ", ".join(f'"{c}"' for c in SCHEMAS[table])
    frame = con.sql(f"SELECT {cols} FROM {raw_table(table)}").pl()
    return frame.sort(list(KEYS[table]))


def source_frame(root: Path, table: str) -> pl.DataFrame:
    if table == "usage/events":
        frame = pl.read_parquet(root / "usage" / "*" / "*.parquet", hive_partitioning=False)
    else:
        frame = pl.read_parquet(root / f"{table}.parquet")
    return conform(table, frame).sort(list(KEYS[table]))


def assert_lands_exactly(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    for table in LANDED:
        landed, expected = conform(table, raw_frame(con, table)), source_frame(root, table)
        assert landed.height == expected.height, table
        assert landed.equals(expected), table


@pytest.fixture
def warehouse(files_config: TieoutConfig) -> duckdb.DuckDBPyConnection:
    con = open_warehouse(files_config.warehouse)
    yield con
    con.close()


def test_full_extraction_lands_exactly_what_the_generator_wrote(
        files_config: TieoutConfig, warehouse: duckdb.DuckDBPyConnection) -> None:
    report = run_extraction(warehouse, files_config)
    assert_lands_exactly(warehouse, files_config.root)
    assert all(t.quarantined == 0 for t in report.tables.values())
    status = warehouse.execute("SELECT status FROM ops.runs").fetchall()
    assert status == [("succeeded",)]
    bad = warehouse.execute("SELECT count(*) FROM ops.batches "
                            "WHERE received <> landed + quarantined").fetchall()[0][0]
    assert bad == 0


def test_rerun_changes_nothing_not_even_lineage(files_config: TieoutConfig,
                                                warehouse: duckdb.DuckDBPyConnection) -> None:
    run_extraction(warehouse, files_config)
    before = {t: raw_frame(warehouse, t, meta=True) for t in LANDED}
    report = run_extraction(warehouse, files_config)
    for table in LANDED:
        assert raw_frame(warehouse, table, meta=True).equals(before[table]), table
    assert sum(t.inserted + t.updated for t in report.tables.values()) == 0
    assert report.tables.get("usage/events") is None  # every usage file was seen before


def test_a_crash_inside_a_unit_lands_none_of_it(files_config: TieoutConfig,
                                                warehouse: duckdb.DuckDBPyConnection,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import tieout.extract.runner as runner

    real_merge = runner.merge_staged

    def merge_then_crash(con: object, table: str, **kwargs: object) -> object:
        result = real_merge(con, table, **kwargs)  # type: ignore[arg-type]
        if table == "billing/invoices":  # killed after the merge, before the unit commits
            raise KeyboardInterrupt("simulated kill inside the landing transaction")
        return result

    monkeypatch.setattr(runner, "merge_staged", merge_then_crash)
    with pytest.raises(KeyboardInterrupt):
        run_extraction(warehouse, files_config, ["billing"])
    assert warehouse.execute("SELECT count(*) FROM raw_billing.invoices").fetchall()[0][0] == 0
    assert warehouse.execute("SELECT count(*) FROM ops.batches WHERE table_name = "
                             "'billing/invoices'").fetchall()[0][0] == 0
    landed_before = warehouse.execute("SELECT count(*) FROM raw_billing.customers").fetchall()
    assert landed_before[0][0] > 0  # the unit before it had committed
    monkeypatch.setattr(runner, "merge_staged", real_merge)
    run_extraction(warehouse, files_config)
    assert_lands_exactly(warehouse, files_config.root)


def test_usage_files_land_once_and_late_files_are_picked_up(
        files_config: TieoutConfig, warehouse: duckdb.DuckDBPyConnection) -> None:
    run_extraction(warehouse, files_config, ["usage"])
    count = warehouse.execute("SELECT count(*) FROM raw_usage.events").fetchall()[0][0]
    old_day = sorted((files_config.root / "usage").iterdir())[3]
    late = pl.read_parquet(next(old_day.glob("*.parquet"))).head(2)
    late = late.with_columns(event_id=pl.lit("ev_late_") + pl.int_range(pl.len()).cast(pl.String))
    late.write_parquet(old_day / "late-arrival.parquet")
    report = run_extraction(warehouse, files_config, ["usage"])
    assert report.tables["usage/events"].inserted == late.height > 0
    assert warehouse.execute("SELECT count(*) FROM raw_usage.events").fetchall()[0][0] == \
        count + late.height
    again = run_extraction(warehouse, files_config, ["usage"])
    assert "usage/events" not in again.tables
    files = warehouse.execute("SELECT count(*) FROM ops.usage_files").fetchall()[0][0]
    assert files == len(list((files_config.root / "usage").glob("date=*/*.parquet")))


def _render(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text, the way an export or an API would send it."""
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            col = col.dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")
        elif dtype == pl.Boolean:
            col = pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false"))
        out.append(col.cast(pl.String).alias(name))
    return frame.select(out)


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_csv_and_ndjson_exports_land_the_same_tables(fmt: str, files_config: TieoutConfig,
                                                     warehouse: duckdb.DuckDBPyConnection,
                                                     small_company: CompanySummary) -> None:
    for source in EXPORTED:
        folder = files_config.root / source
        for path in sorted(folder.glob("*.parquet")):
            frame = _render(pl.read_parquet(path))
            if fmt == "csv":
                frame.write_csv(path.with_suffix(".csv"))
            else:
                with path.with_suffix(".ndjson").open("w") as handle:
                    for row in frame.iter_rows(named=True):
                        handle.write(json.dumps({k: v for k, v in row.items() if v is not None})
                                     + "\n")
            path.unlink()
    run_extraction(warehouse, files_config, list(EXPORTED))
    for table in LANDED:
        if table.split("/")[0] in EXPORTED:
            landed = conform(table, raw_frame(warehouse, table))
            assert landed.equals(source_frame(small_company.out_dir, table)), table


def test_an_unreadable_file_lands_nothing_and_says_which(files_config: TieoutConfig,
                                                        warehouse: duckdb.DuckDBPyConnection
                                                        ) -> None:
    path = files_config.root / "billing" / "invoices.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated export
    with pytest.raises(TieoutError) as err:
        run_extraction(warehouse, files_config, ["billing"])
    message = str(err.value)
    assert "invoices.parquet" in message and "\n" not in message
    assert warehouse.execute("SELECT count(*) FROM raw_billing.invoices").fetchall()[0][0] == 0
    failed = warehouse.execute("SELECT status, error FROM ops.runs").fetchall()
    assert failed[0][0] == "failed" and "invoices.parquet" in failed[0][1]


def test_a_missing_export_is_named(files_config: TieoutConfig,
                                   warehouse: duckdb.DuckDBPyConnection) -> None:
    shutil.move(files_config.root / "erp" / "customer.parquet", files_config.root / "x.parquet")
    with pytest.raises(TieoutError, match=r"no export for erp/customer"):
        run_extraction(warehouse, files_config, ["erp"])


def test_support_is_optional(files_config: TieoutConfig,
                             warehouse: duckdb.DuckDBPyConnection) -> None:
    """A configuration without [sources.support] (a company from before the support
    platform) still extracts everything else; raw_support stays empty, and asking for the
    support source explicitly lands nothing instead of failing."""
    text = files_config.path.read_text()
    block = text[text.index("[sources.support]"):text.index("[sources.usage]")]
    files_config.path.write_text(text.replace(block, ""))
    shutil.rmtree(files_config.root / "support")
    cfg = load_config(files_config.path)
    assert "support" not in cfg.sources
    report = run_extraction(warehouse, cfg)
    assert report.received > 0 and not any(t.startswith("support/") for t in report.tables)
    assert run_extraction(warehouse, cfg, ["support"]).received == 0
    for table in ("support/organizations", "support/service_credits"):
        assert raw_frame(warehouse, table).is_empty()
    runs = warehouse.execute("SELECT status FROM ops.runs").fetchall()
    assert runs == [("succeeded",), ("succeeded",)]
