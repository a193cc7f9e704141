"""`tieout run` end to end on a tiny files-mode company: extract, dbt build, rule checks.

One run per module (it is the slow part); the tests then read what it left behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from seeds.generator import generate_company
from seeds.tables import SCHEMAS
from tieout.cli.main import main
from tieout.register import EXCEPTION_COLUMNS
from tieout.rules import RULES
from tieout.transform.dbt_vars import PROJECT_DIR
from tieout.transform.invocation import dbt_executable

from .e2e.proof import compare

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Run:
    config: Path
    warehouse: Path
    dagster_home: Path
    out: str
    err: str


def _ignored_in_dbt_project() -> list[str]:
    """Gitignored files under dbt_project/ (target/, logs/...): a run must create none."""
    status = subprocess.run(["git", "status", "--porcelain", "--ignored", "--", "dbt_project"],
                            cwd=PROJECT_DIR.parent, capture_output=True, text=True,
                            check=True).stdout
    return [line for line in status.splitlines() if line.startswith("!!")]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("reconcile")
    summary = generate_company(root / "co", seed=41, invoices=300)
    config = summary.out_dir / "tieout.toml"
    before = _ignored_in_dbt_project()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(root / "dagster"))
        out, err = io.StringIO(), io.StringIO()
        mp.setattr("sys.stdout", out)  # capsys is function-scoped: capture by hand
        mp.setattr("sys.stderr", err)
        code = main(["run", "--config", str(config)])
    assert code == 0, err.getvalue()
    assert _ignored_in_dbt_project() == before  # nothing written into the dbt project
    yield Run(config, summary.out_dir / "warehouse.duckdb", root / "dagster", out.getvalue(),
              err.getvalue())


def test_run_prints_one_line_per_stage_and_the_summary(run: Run) -> None:
    lines = run.out.splitlines()
    for stage in ("extract", "transform", "journals", "rules"):
        assert any(line.startswith(stage) and line.rstrip().endswith(" s") for line in lines), (
            stage, run.out)
    assert "tests passed" in run.out and "Exceptions by rule" in run.out
    for code in RULES:
        assert code in run.out
    assert "amount (USD)" in run.out and "in transit" in run.out
    assert f"records landed in {len(SCHEMAS)} raw tables" in run.out
    assert "Dagster runs" in run.out
    assert (run.dagster_home / "dagster.yaml").read_text().count("enabled: false") == 1


def test_the_full_pipeline_finds_exactly_the_ground_truth(run: Run) -> None:
    comparison = compare(run.config.parent, run.warehouse)
    assert comparison.expected
    assert not comparison.false_positives and not comparison.false_negatives, \
        comparison.report()


def test_the_run_opens_every_exception_for_review_and_publishes_the_snapshot(run: Run) -> None:
    """The review state holds exactly the mart's exceptions, all open; analysts get the marts."""
    import duckdb

    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        mart = set(con.execute("SELECT exception_id FROM marts.fct_exceptions").fetchall())
        review = con.execute("SELECT exception_id, status, is_present FROM "
                             "ops.exception_review").fetchall()
        [(detections,)] = con.execute("SELECT count(*) FROM ops.exception_audit WHERE "
                                      "action = 'detected'").fetchall()
    assert mart and {(i,) for i, _s, _p in review} == mart
    assert {(s, p) for _i, s, p in review} == {("open", True)}
    assert detections == len(mart)
    assert "review" in run.out and f"{len(mart):,} new" in run.out
    snapshot = run.warehouse.with_name("warehouse.published.duckdb")
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert set(con.execute("SELECT exception_id FROM marts.fct_exceptions").fetchall()) \
            == mart


def test_dbt_artifacts_stay_beside_the_config(run: Run) -> None:
    target = run.config.parent / ".tieout" / "dbt" / "target"
    assert (target / "run_results.json").is_file() and (target / "dbt.log").is_file()
    for leftover in ("target", "logs", ".user.yml"):
        assert not (PROJECT_DIR / leftover).exists(), leftover


def test_every_dbt_unit_test_passes(run: Run, tmp_path: Path) -> None:
    """Production builds leave the dbt unit tests out (PRODUCTION_BUILD_OPTIONS): the suite runs
    every one of them here, once, against the warehouse the run built."""
    done = subprocess.run(
        [dbt_executable(), "test", "--select", "test_type:unit", "--project-dir",
         str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--target-path",
         str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--quiet"],
        env={**os.environ, "TIEOUT_WAREHOUSE": str(run.warehouse)}, capture_output=True,
        text=True, check=False)
    assert done.returncode == 0, done.stdout[-4000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    names = {node["name"] for node in manifest["unit_tests"].values()}
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    passed = {r["unique_id"].split(".")[-1] for r in results if r["status"] == "pass"}
    assert len(names) >= 9 and names <= passed, sorted(names - passed)


def test_exceptions_csv_equals_the_mart(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    """The review queue's CSV starts with the mart's columns and holds exactly its rows; an
    undated exception (a balance as of the run) shows the period of its as-of date."""
    from tieout.cli.exceptions import CSV_COLUMNS

    assert main(["exceptions", "list", "--config", str(run.config), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == list(CSV_COLUMNS)
    assert tuple(CSV_COLUMNS[:len(EXCEPTION_COLUMNS)]) == EXCEPTION_COLUMNS
    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        expected = con.execute(
            f"SELECT {', '.join(EXCEPTION_COLUMNS)} FROM marts.fct_exceptions "
            "ORDER BY rule, natural_key, exception_id").fetchall()
    assert len(rows) - 1 == len(expected) > 0

    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return str(value).lower()
        return str(value)

    period = EXCEPTION_COLUMNS.index("period")
    for got, want in zip(rows[1:], expected, strict=True):
        wanted = [text(v) for v in want]
        if want[period] is None:
            assert re.fullmatch(r"\d{4}-\d{2}", got[period]), got
            wanted[period] = got[period]
        assert got[:len(EXCEPTION_COLUMNS)] == wanted


def test_rule_check_results_in_the_dagster_instance(run: Run) -> None:
    instance = dg.DagsterInstance.from_config(str(run.dagster_home))
    try:
        key = dg.AssetKey(["marts", "fct_exceptions"])
        with duckdb.connect(str(run.warehouse), read_only=True) as con:
            counts = dict(con.execute("SELECT rule, count(*) FROM marts.fct_exceptions "
                                      "GROUP BY rule").fetchall())
        for code, rule in RULES.items():
            record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [dg.AssetCheckKey(key, code)])[dg.AssetCheckKey(key, code)]
            evaluation = record.event.dagster_event.event_specific_data  # type: ignore[union-attr]
            assert evaluation.passed == (code not in counts), code
            assert evaluation.severity.value == rule.severity.value.upper(), code
            assert evaluation.metadata["count"].value == counts.get(code, 0), code
    finally:
        instance.dispose()


def test_dbt_failure_is_a_pipeline_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tieout.toml"
    config.write_text('[company]\naccounting_timezone = "UTC"\nreporting_currency = "USD"\n'
                      '[reconciliation]\ngrace_hours = 24\n'
                      '[reconciliation.absolute_tolerance]\n[sources]\n')
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    assert main(["run", "--config", str(config), "--only", "transform"]) == 1
    assert "does not exist: extract first" in capsys.readouterr().err
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()  # no raw schemas: views fail
    assert main(["run", "--config", str(config), "--only", "transform"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tieout: error: dbt build failed") and err.count("\n") == 1, err
    assert "stg_" in err and "raw_" in err and "dbt.log" in err


def test_docs_describe_every_mart_column_analysts_see(run: Run,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`tieout docs` writes one self-contained page; every column of every mart in the
    warehouse (dbt's catalog) has a description, and so does every mart."""
    assert main(["docs", "--config", str(run.config)]) == 0
    page = Path(capsys.readouterr().out.strip())
    assert page.name == "static_index.html" and page.stat().st_size > 100_000
    catalog = json.loads((page.parent / "catalog.json").read_text())
    manifest = json.loads((page.parent / "manifest.json").read_text())
    marts = {uid: node for uid, node in catalog["nodes"].items()
             if manifest["nodes"][uid]["path"].startswith("marts/")}
    assert {uid.rsplit(".", 1)[1] for uid in marts} >= {
        "fct_exceptions", "fct_invoice_reconciliation", "fct_ar_reconciliation",
        "fct_revenue_reconciliation", "fct_deferred_revenue_rollforward", "dim_customer",
        "dim_product", "fct_mrr_movements"}
    undocumented = [(uid, column) for uid, node in marts.items() for column in node["columns"]
                    if not manifest["nodes"][uid]["columns"].get(column, {}).get(
                        "description", "").strip()]
    assert undocumented == []
    assert all(manifest["nodes"][uid]["description"].strip() for uid in marts)
    assert PROJECT_DIR not in page.parents  # nothing written into the repository
