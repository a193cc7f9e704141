"""Jobs: what a run materializes."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from assets import EXTRACT_GROUPS
from assets.analyst_snapshot import analyst_snapshot
from assets.dbt_models import dbt_models
from assets.exception_review import exception_review
from assets.rule_checks import reconciliation_rules

# Every dbt model with its dbt tests; the rule checks on marts/fct_exceptions on their own.
DBT_SELECTION = dg.AssetSelection.assets(dbt_models) - dg.AssetSelection.checks(
    reconciliation_rules)
# The rule checks, then the review state they feed (``ops/exception_review``), then the
# analysts' snapshot (published last, so only a run that got this far publishes).
RULES_SELECTION = (dg.AssetSelection.checks(reconciliation_rules)
                   | dg.AssetSelection.assets(exception_review, analyst_snapshot))

extract_job = dg.define_asset_job(
    "extract", selection=dg.AssetSelection.groups(*EXTRACT_GROUPS),
    description="Land reference data, billing, ERP, revrec and support (when configured) into "
                "the raw schemas.")

usage_job = dg.define_asset_job(
    "extract_usage", selection=dg.AssetSelection.groups("usage"),
    description="Land the usage files of the selected days (daily partitions).")

reconcile_job = dg.define_asset_job(
    "reconcile",
    selection=dg.AssetSelection.groups(*EXTRACT_GROUPS) | DBT_SELECTION | RULES_SELECTION,
    description="Extract billing, ERP, revrec, support (when configured) and reference data, "
                "dbt build (models and tests), then one check per reconciliation rule on "
                "marts/fct_exceptions and the review state (ops/exception_review) and the "
                "analysts' snapshot. Usage files land through extract_usage (daily "
                "partitions).")

post_journals_job = dg.define_asset_job(
    "post_usage_journals", selection=dg.AssetSelection.groups("usage", "journals"),
    description="Land the day's usage files, plan the usage journal batches of its closed "
                "windows (blocking balance check), and post them to the ERP exactly once.")


@dg.schedule(job=post_journals_job, cron_schedule="20 * * * *", execution_timezone="UTC",
             description="Hourly, just after the previous hour's window closes (journal."
                         "close_after_minutes, default 15): post yesterday's and today's "
                         "closed windows. Re-running an hour posts nothing twice.")
def hourly_usage_journals(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """One run per UTC day that can still have windows closing (yesterday and today)."""
    moment = context.scheduled_execution_time
    days = {(moment - dt.timedelta(hours=hours)).date() for hours in (1, 0)}
    return [dg.RunRequest(run_key=f"{day.isoformat()}@{moment:%Y-%m-%dT%H:%M}",
                          partition_key=day.isoformat()) for day in sorted(days)]
