"""The raw source assets store their extraction's metrics under the run they belong to and
show them as asset metadata; the steps are ``ops.runs`` rows of that run."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest

from assets import RAW_ASSETS
from pipelines.resources import SourceSecrets, TieoutSettings
from seeds.sandbox import SandboxServer
from tieout.config import TieoutConfig
from tieout.metrics.history import recent_runs
from tieout.metrics.runs import RUN_TAG
from tieout.warehouse.connection import open_read_only

from .test_measured_extraction import TOKENS, _api_config

pytestmark = pytest.mark.slow


def _metadata(result: dg.ExecuteInProcessResult, *path: str) -> dict[str, Any]:
    [event] = [e for e in result.get_asset_materialization_events()
               if e.asset_key == dg.AssetKey(["raw", *path])]
    return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.mark.parametrize("tagged", [True, False], ids=["tieout-run", "dagster-run"])
def test_assets_store_and_show_the_run_metrics(files_config: TieoutConfig,
                                               monkeypatch: pytest.MonkeyPatch,
                                               tagged: bool) -> None:
    monkeypatch.setenv("TIEOUT_BILLING_API_KEY", TOKENS.billing)
    monkeypatch.setenv("TIEOUT_SUPPORT_TOKEN", TOKENS.support)
    spec = "billing.invoices:503=0.4,billing.customers:429=0.5,retry_after=0"
    tags = {RUN_TAG: "run-under-test"} if tagged else {}
    with SandboxServer(files_config.root, tokens=TOKENS, faults=spec, seed=4) as sandbox:
        cfg = _api_config(files_config, sandbox.url, "dagster")
        result = dg.materialize(
            [a for a in RAW_ASSETS if a.partitions_def is None],
            instance=dg.DagsterInstance.ephemeral(), tags=tags,
            resources={"tieout": TieoutSettings(config_path=str(cfg.path)),
                       "secrets": SourceSecrets()},
            selection=dg.AssetSelection.groups("billing", "support"))
        injected = sandbox.fault_counts
    assert result.success
    run_id = "run-under-test" if tagged else result.run_id
    invoices = _metadata(result, "billing", "invoices")
    assert invoices["metrics_run_id"] == run_id
    assert invoices["api_endpoint"] == "/v1/invoices"
    assert injected[("billing.invoices", "503")] > 0
    assert invoices["api_errors_by_status"] == {"503": injected[("billing.invoices", "503")]}
    assert invoices["api_retries"] == injected[("billing.invoices", "503")]
    assert invoices["records_fetched"] == invoices["received"]
    assert invoices["api_latency_p95_ms"] >= invoices["api_latency_p50_ms"] > 0
    customers = _metadata(result, "billing", "customers")
    assert customers["api_errors_by_status"] == {"429": injected[("billing.customers", "429")]}
    assert _metadata(result, "support", "organizations")["api_endpoint"] == (
        "/api/v2/organizations")

    con = open_read_only(cfg.warehouse)
    try:
        stored = con.execute(
            "SELECT run_id, source, sum(value) FROM ops.run_metrics WHERE metric = 'errors' "
            "GROUP BY ALL ORDER BY ALL").fetchall()
        steps = con.execute("SELECT scope, status, parent_run_id FROM ops.runs ORDER BY scope"
                            ).fetchall()
        [run] = recent_runs(con, 5)
    finally:
        con.close()
    assert stored == [(run_id, "billing", injected[("billing.invoices", "503")]
                       + injected[("billing.customers", "429")])]
    assert steps == [(f"dagster:{result.run_id}:{s}", "succeeded", run_id)
                     for s in ("billing", "support")]
    assert (run.run_id, run.status, run.own_row) == (run_id, "succeeded", False)
    assert run.scope == "dagster: billing,support"
