"""The dbt project as Dagster assets: one asset per model, dbt tests as asset checks.

One ``dbt build`` materializes the selected models and runs their data tests (dbt unit tests
are left to the test suite: ``PRODUCTION_BUILD_OPTIONS``); dagster-dbt turns the event
stream into materializations and check results.  The vars come from the run's
``tieout.toml`` (``dbt_vars_arg``), the warehouse from ``TIEOUT_WAREHOUSE``, and artifacts and
logs go beside the configuration (``<config dir>/.tieout/dbt/target``), never into the
repository.
"""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.dbt_project import DBT_PROJECT
from pipelines.resources import TieoutSettings
from tieout.transform.dbt_vars import dbt_vars_arg
from tieout.transform.invocation import PRODUCTION_BUILD_OPTIONS, run_target_path, warehouse_env

from .dbt_translator import TieoutTranslator


@dbt_assets(manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT, name="dbt_models",
            dagster_dbt_translator=TieoutTranslator())
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource,
               tieout: TieoutSettings) -> Iterator[Any]:
    """``dbt build`` of the selected models and their tests against the run's warehouse."""
    cfg = tieout.load()
    target = run_target_path(cfg)
    (target / "run_results.json").unlink(missing_ok=True)  # failures are read from a fresh one
    with warehouse_env(cfg.warehouse):
        yield from dbt.cli(["build", *PRODUCTION_BUILD_OPTIONS, "--vars", dbt_vars_arg(cfg)],
                           context=context, target_path=target).stream()
