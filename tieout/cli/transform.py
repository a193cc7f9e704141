"""The dbt and rule stages of ``tieout run``: in-process Dagster runs of the same definitions.

Two runs, so progress prints as each stage ends: ``dbt build`` of every model with its tests
(the dbt assets), then one check per reconciliation rule on ``marts/fct_exceptions``.  A
failing dbt model or test fails the run (the marts would be missing or wrong); exceptions
found by the rule checks never do.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tieout.config import load_config
from tieout.errors import TieoutError
from tieout.transform.invocation import failed_nodes, run_target_path

# The CLI reports a failure in one line (with the failing dbt nodes and the log's path); the
# run's full event log stays in the Dagster instance and dbt.log.
SILENT = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def materialize_dbt(config: Path, tags: Mapping[str, str] | None = None) -> Any:
    """``dbt build`` of the whole project (models and tests) as the dbt assets."""
    from pipelines.jobs import DBT_SELECTION

    result = _materialize(config, DBT_SELECTION, tags)
    if not result.success:
        target = run_target_path(load_config(config))
        broken = failed_nodes(target)
        detail = "; ".join(broken) if broken else _failure(result)
        raise TieoutError(f"dbt build failed (run {result.run_id}): {detail} "
                          f"(dbt log: {target / 'dbt.log'})")
    return result


def materialize_rules(config: Path, tags: Mapping[str, str] | None = None) -> Any:
    """Evaluate the rule checks on the current ``marts.fct_exceptions`` (no rebuild), then
    carry the review state across (``ops/exception_review``)."""
    from pipelines.jobs import RULES_SELECTION

    result = _materialize(config, RULES_SELECTION, tags)
    if not result.success:
        raise TieoutError(f"rule checks failed (run {result.run_id}): {_failure(result)}")
    return result


def _materialize(config: Path, selection: Any, tags: Mapping[str, str] | None) -> Any:
    import dagster as dg

    from assets import RAW_ASSETS
    from assets.analyst_snapshot import analyst_snapshot
    from assets.dbt_models import dbt_models
    from assets.exception_review import exception_review
    from assets.rule_checks import reconciliation_rules
    from pipelines.dbt_project import dbt_resource
    from pipelines.resources import SourceSecrets, TieoutSettings

    resources = {"tieout": TieoutSettings(config_path=str(config)), "secrets": SourceSecrets(),
                 "dbt": dbt_resource()}
    # dagster-dbt echoes every dbt log line to stdout; dbt.log in the target folder keeps them.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        return dg.materialize([*RAW_ASSETS, dbt_models, reconciliation_rules, exception_review,
                               analyst_snapshot],
                              instance=dg.DagsterInstance.get(), resources=resources,
                              selection=selection, raise_on_error=False, run_config=SILENT,
                              tags=dict(tags or {}))


def _failure(result: Any) -> str:
    from .dagster_errors import failure_reason

    return failure_reason(result)
