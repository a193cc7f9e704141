"""Every dbt unit test, once: production builds leave them out (PRODUCTION_BUILD_OPTIONS), so
the suite runs them all here on an empty warehouse (`dbt run --empty` gives each model's
inputs their columns without rows; the unit tests bring their own rows)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tieout.transform.dbt_vars import PROJECT_DIR
from tieout.transform.invocation import dbt_executable
from tieout.warehouse.connection import open_warehouse

pytestmark = pytest.mark.slow


def _dbt(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIEOUT_WAREHOUSE": str(tmp_path / "unit.duckdb")}
    return subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir",
         str(PROJECT_DIR), "--target-path", str(tmp_path / "target"), "--log-path",
         str(tmp_path / "logs"), "--quiet", "--no-send-anonymous-usage-stats"],
        env=env, capture_output=True, text=True, check=False)


def test_every_dbt_unit_test_passes(tmp_path: Path) -> None:
    open_warehouse(tmp_path / "unit.duckdb").close()  # raw and ops tables, empty
    # one invocation: every model built empty, each model's unit tests before it, no data tests
    built = _dbt(["build", "--empty", "--exclude-resource-type", "test"], tmp_path)
    assert built.returncode == 0, built.stdout[-4000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    names = {node["name"] for node in manifest["unit_tests"].values()}
    assert len(names) >= 9, names
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    passed = {r["unique_id"].split(".")[-1] for r in results if r["status"] == "pass"}
    assert names <= passed, sorted(names - passed)
