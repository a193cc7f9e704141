"""The only place tieout's Dagster ``Definitions`` are assembled (loaded by workspace.yaml).

The warehouse is one DuckDB file, so every job runs in process (one writer at a time).
``TIEOUT_CONFIG`` names the ``tieout.toml`` (default: ./tieout.toml); it is a path, not a
secret.  Import does no network or warehouse I/O; it checks that the dbt manifest matches the
dbt project and parses it only if not (``tieout.transform.manifest``).
"""

from __future__ import annotations

import warnings

import dagster as dg

from assets import RAW_ASSETS
from assets.analyst_snapshot import analyst_snapshot
from assets.dbt_models import dbt_models
from assets.exception_review import exception_review
from assets.rule_checks import reconciliation_rules
from assets.usage_journals import JOURNAL_ASSETS
from pipelines.dbt_project import dbt_resource
from pipelines.jobs import (
    extract_job,
    hourly_usage_journals,
    post_journals_job,
    reconcile_job,
    usage_job,
)
from pipelines.orchestration import (
    alert_on_failure,
    nightly_schedule,
    nightly_settings,
    source_freshness_checks,
    usage_files_sensor,
)
from pipelines.resources import SourceSecrets, TieoutSettings

_at, _timezone, _fresh_hours = nightly_settings()
_freshness = source_freshness_checks(
    [a for a in RAW_ASSETS if a.partitions_def is None], _fresh_hours)
with warnings.catch_warnings():  # superseded by FreshnessPolicy, which is still in preview
    warnings.simplefilter("ignore")
    _freshness_sensor = dg.build_sensor_for_freshness_checks(freshness_checks=_freshness,
                                                             name="source_freshness")

defs = dg.Definitions(
    assets=[*RAW_ASSETS, dbt_models, exception_review, analyst_snapshot, *JOURNAL_ASSETS],
    asset_checks=[reconciliation_rules, *_freshness],
    jobs=[extract_job, usage_job, reconcile_job, post_journals_job],
    schedules=[hourly_usage_journals, nightly_schedule(_at, _timezone)],
    sensors=[usage_files_sensor, alert_on_failure, _freshness_sensor],
    resources={
        "tieout": TieoutSettings(config_path=dg.EnvVar("TIEOUT_CONFIG")),
        "secrets": SourceSecrets(),
        "dbt": dbt_resource(),
    },
    executor=dg.in_process_executor,
)
