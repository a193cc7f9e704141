"""The Dagster code location loads, and its raw assets materialize with their checks.

The dbt assets and rule checks of the same code location are covered in test_dbt_assets.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from seeds.tables import SCHEMAS
from tieout.config import TieoutConfig

EXPECTED_KEYS = {f"raw/{t}" for t in SCHEMAS}


def test_definitions_load_with_every_raw_asset_and_check() -> None:
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {k for k in keys if k.startswith("raw/")} == EXPECTED_KEYS
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    for key in EXPECTED_KEYS:
        assert (key, "gate_accounts_for_every_record") in checks
        assert (key, "natural_key_is_unique") in checks
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"extract", "extract_usage",
                                                                 "reconcile"}


@pytest.mark.slow
def test_dagster_definitions_validate(tmp_path: Path) -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "dagster"), "definitions",
                           "validate", "-w", "workspace.yaml"], capture_output=True, text=True,
                          env={"TIEOUT_CONFIG": str(tmp_path / "tieout.toml"),
                               "DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
                          check=False, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


def test_extract_assets_materialize_with_passing_checks(files_config: TieoutConfig) -> None:
    from assets import RAW_ASSETS
    from pipelines.resources import SourceSecrets, TieoutSettings

    resources = {"tieout": TieoutSettings(config_path=str(files_config.path)),
                 "secrets": SourceSecrets()}
    result = dg.materialize([a for a in RAW_ASSETS if a.partitions_def is None],
                            resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    mats = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    assert set(mats) == EXPECTED_KEYS - {"raw/usage/events"}
    invoices = mats["raw/billing/invoices"].materialization.metadata
    assert invoices["received"].value == invoices["landed"].value > 0
    assert invoices["quarantined"].value == 0
    assert {k for k in invoices if k.startswith("total_")} == {"total_USD", "total_EUR",
                                                              "total_GBP", "total_JPY"}
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)

    day = "2025-03-10"
    usage = dg.materialize(RAW_ASSETS, resources=resources, partition_key=day,
                           instance=dg.DagsterInstance.ephemeral(),
                           selection=dg.AssetSelection.assets(
                               dg.AssetKey(["raw", "usage", "events"])))
    assert usage.success
    md = usage.get_asset_materialization_events()[0].materialization.metadata
    on_disk = len(list((files_config.root / "usage" / f"date={day}").glob("*.parquet")))
    assert on_disk == 1 and md["landed"].value > 0


def test_an_unconfigured_optional_source_materializes_empty(files_config: TieoutConfig) -> None:
    """A company without the support platform: the support asset still runs (nothing landed,
    every check passing), so jobs and freshness behave as for any other source."""
    from assets import RAW_ASSETS
    from pipelines.resources import SourceSecrets, TieoutSettings

    text = files_config.path.read_text()
    files_config.path.write_text(
        text.replace(text[text.index("[sources.support]"):text.index("[sources.usage]")], ""))
    resources = {"tieout": TieoutSettings(config_path=str(files_config.path)),
                 "secrets": SourceSecrets()}
    result = dg.materialize([a for a in RAW_ASSETS if a.partitions_def is None],
                            resources=resources, instance=dg.DagsterInstance.ephemeral(),
                            selection=dg.AssetSelection.groups("support"))
    assert result.success
    mats = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert set(mats) == {"raw/support/organizations", "raw/support/service_credits"}
    assert all(md["received"].value == md["rows_in_table"].value == 0 for md in mats.values())
    assert all(e.passed for e in result.get_asset_check_evaluations())
