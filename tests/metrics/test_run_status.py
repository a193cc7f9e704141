"""``tieout run`` records itself and its steps, and ``tieout status`` judges the outcome: a
failed run exits 1 naming its error; the next good run is healthy again."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import duckdb
import pytest

from seeds.generator import CompanySummary
from tieout.cli.main import main

pytestmark = pytest.mark.slow


def _main(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with monkeypatch.context() as mp:
        mp.setattr("sys.stdout", out)
        mp.setattr("sys.stderr", err)
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_status_follows_the_runs(small_company: CompanySummary, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "co"
    shutil.copytree(small_company.out_dir, root)
    config = str(root / "tieout.toml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    invoices = root / "billing" / "invoices.parquet"
    invoices.rename(root / "invoices.hidden")
    code, _, err = _main(monkeypatch, "run", "--config", config, "--only", "extract")
    assert code != 0 and "invoices" in err

    code, out, _ = _main(monkeypatch, "status", "--config", config)
    assert code == 1
    assert "UNHEALTHY (last_run)" in out and "failed" in out and "invoices" in out

    (root / "invoices.hidden").rename(invoices)
    code, out, err = _main(monkeypatch, "run", "--config", config, "--only", "extract")
    assert code == 0, err
    code, out, _ = _main(monkeypatch, "status", "--config", config, "--runs", "2")
    assert code == 0, out
    assert "extract billing:" in out and "healthy" in out.splitlines()[-1]

    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        runs = con.execute("SELECT run_id, status, scope FROM ops.runs WHERE parent_run_id "
                           "IS NULL ORDER BY started_at").fetchall()
        [(good, _, _)] = [r for r in runs if r[1] == "succeeded"]
        steps = con.execute("SELECT DISTINCT split_part(scope, ':', 3) FROM ops.runs WHERE "
                            "parent_run_id = ? ORDER BY 1", [good]).fetchall()
        stages = con.execute("SELECT DISTINCT source FROM ops.run_metrics WHERE run_id = ? "
                             "AND metric = 'extract_seconds' ORDER BY 1", [good]).fetchall()
    assert [(status, scope) for _, status, scope in runs] == [
        ("failed", "tieout run --only extract"), ("succeeded", "tieout run --only extract")]
    assert steps == stages  # every source is a step of the run, with its metrics
    assert {s for (s,) in steps} >= {"billing", "erp", "revrec", "reference", "usage"}
