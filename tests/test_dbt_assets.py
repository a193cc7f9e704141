"""dbt models as Dagster assets: lineage from the raw assets, dbt tests and rule checks.

Loads the code location once (the manifest is prepared by ``tieout.transform.manifest``);
the rule checks run against a throwaway warehouse holding a hand-made ``fct_exceptions``.
"""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from seeds.tables import SCHEMAS
from tieout.config import load_config
from tieout.rules import RULES
from tieout.transform import manifest
from tieout.transform.dbt_vars import PROJECT_DIR, dbt_vars

RAW_KEYS = {dg.AssetKey(["raw", *t.split("/", 1)]) for t in SCHEMAS}
FCT_EXCEPTIONS = dg.AssetKey(["marts", "fct_exceptions"])


@pytest.fixture(scope="module")
def graph() -> Any:
    from pipelines.definitions import defs

    return defs.resolve_asset_graph()


def dbt_keys(graph: Any) -> set[dg.AssetKey]:
    return {k for k in graph.get_all_asset_keys()
            if graph.get(k).is_materializable and "dbt" in graph.get(k).kinds}


def test_every_staging_model_reads_raw_assets(graph: Any) -> None:
    staging = {k for k in dbt_keys(graph) if k.path[0] == "staging"}
    assert len(staging) >= len(SCHEMAS)
    fed = set()
    for key in staging:
        parents = graph.get(key).parent_keys
        assert parents, key
        if key.path[1].startswith("stg_ops__"):
            assert parents == {dg.AssetKey(["ops", key.path[1].split("__", 1)[1]])}
        else:
            assert parents <= RAW_KEYS, (key, parents)
        fed |= parents
    assert fed >= RAW_KEYS  # every raw table is a dbt source: lineage has no loose ends
    assert {graph.get(k).group_name for k in staging} == {"staging"}


def test_lineage_runs_from_raw_to_fct_exceptions(graph: Any) -> None:
    node = graph.get(FCT_EXCEPTIONS)
    assert node.is_materializable and node.group_name == "marts"
    ancestors, frontier = set(), {FCT_EXCEPTIONS}
    while frontier:
        frontier = {p for k in frontier for p in graph.get(k).parent_keys} - ancestors
        ancestors |= frontier
    sources = {k.path[1] for k in ancestors & RAW_KEYS}
    assert sources == {"billing", "erp", "revrec", "support", "usage", "reference"}
    assert any(k.path[0] == "intermediate" for k in ancestors)


def test_dbt_tests_are_asset_checks(graph: Any) -> None:
    names = {c.name for c in graph.asset_check_keys
             if c.asset_key == dg.AssetKey(["staging", "stg_billing__invoices"])}
    assert any(name.startswith("not_null_") for name in names), names


def test_one_non_blocking_rule_check_per_rule_code_with_its_severity() -> None:
    from assets.rule_checks import reconciliation_rules
    from pipelines.definitions import defs

    specs = {spec.name: spec for spec in reconciliation_rules.check_specs}
    assert set(specs) == set(RULES)
    for code, spec in specs.items():
        assert spec.asset_key == FCT_EXCEPTIONS
        assert not spec.blocking
        assert spec.metadata["severity"] == RULES[code].severity.value
    job = defs.resolve_job_def("reconcile")
    assert {c.name for c in job.asset_layer.asset_graph.asset_check_keys} >= set(RULES)


def test_resource_learns_the_dbt_version_without_running_dbt(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    import dagster_dbt.core.resource as resource

    from pipelines.dbt_project import dbt_resource

    def no_subprocess(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("dbt --version asks PyPI for the latest release")

    monkeypatch.setattr(resource, "check_output", no_subprocess)
    assert str(dbt_resource()._cli_version) == metadata.version("dbt-core")


def test_manifest_is_prepared_outside_dbt_project_and_current() -> None:
    assert manifest.ensure_manifest() == manifest.MANIFEST
    assert manifest.is_current()
    assert PROJECT_DIR not in manifest.MANIFEST.parents
    ignored = subprocess.run(["git", "check-ignore", "-q", str(manifest.MANIFEST)],
                             cwd=PROJECT_DIR.parent, check=False)
    assert ignored.returncode == 0  # gitignored: preparing it leaves `git status` clean
    assert json.loads(manifest.MANIFEST.read_text())["metadata"]["project_name"] == "tieout"


def test_parse_vars_have_the_shape_of_a_runs_vars(small_company) -> None:
    cfg = load_config(small_company.out_dir / "tieout.toml")
    assert dbt_vars(manifest.PARSE_CONFIG).keys() == dbt_vars(cfg).keys()


def test_fingerprint_follows_the_files_not_their_timestamps(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1")
    (project / "target").mkdir()
    first = manifest.fingerprint(project)
    (project / "target" / "manifest.json").write_text("{}")  # build output is ignored
    (project / "models" / "a.sql").touch()
    assert manifest.fingerprint(project) == first
    (project / "models" / "b.sql").write_text("select 2")
    assert manifest.fingerprint(project) != first


def _fake_exceptions(tmp_path: Path) -> Path:
    """A config whose warehouse holds a hand-made marts.fct_exceptions."""
    (tmp_path / "tieout.toml").write_text(
        '[company]\naccounting_timezone = "UTC"\nreporting_currency = "USD"\n'
        '[reconciliation]\ngrace_hours = 24\n[reconciliation.absolute_tolerance]\n'
        '[sources]\n')
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.fct_exceptions (rule VARCHAR, "
                    "difference_reporting DECIMAL(20, 4), is_material BOOLEAN)")
        con.execute("INSERT INTO marts.fct_exceptions VALUES "
                    "('AMOUNT_MISMATCH', -1500.0001, true), ('AMOUNT_MISMATCH', 2.5, false), "
                    "('AR_INVOICE_MISMATCH', NULL, false)")
    return tmp_path / "tieout.toml"


def test_rule_checks_report_count_amount_and_severity_without_failing(tmp_path: Path) -> None:
    from assets.rule_checks import reconciliation_rules
    from pipelines.resources import TieoutSettings

    config = _fake_exceptions(tmp_path)
    result = dg.materialize([reconciliation_rules], instance=dg.DagsterInstance.ephemeral(),
                            resources={"tieout": TieoutSettings(config_path=str(config))},
                            selection=dg.AssetSelection.checks(reconciliation_rules))
    assert result.success  # exceptions are findings, not a failed run
    results = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(results) == set(RULES)
    amount = results["AMOUNT_MISMATCH"]
    assert not amount.passed and amount.severity == dg.AssetCheckSeverity.ERROR
    md = {k: v.value for k, v in amount.metadata.items()}
    assert md == {"count": 2, "amount (USD)": "1502.5001", "material": 1}
    assert Decimal(md["amount (USD)"]) == Decimal("1500.0001") + Decimal("2.5")
    ar = results["AR_INVOICE_MISMATCH"]
    assert not ar.passed and ar.severity == dg.AssetCheckSeverity.WARN
    assert ar.metadata["count"].value == 1
    assert all(e.passed for code, e in results.items()
               if code not in {"AMOUNT_MISMATCH", "AR_INVOICE_MISMATCH"})
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:  # the check closed its
        con.execute("SELECT 1").fetchall()                            # read-only connection
