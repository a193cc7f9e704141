"""Jobs: what a run materializes."""

from __future__ import annotations

import dagster as dg

from assets import EXTRACT_GROUPS
from assets.dbt_models import dbt_models
from assets.rule_checks import reconciliation_rules

# Every dbt model with its dbt tests; the rule checks on marts/fct_exceptions on their own.
DBT_SELECTION = dg.AssetSelection.assets(dbt_models) - dg.AssetSelection.checks(
    reconciliation_rules)
RULES_SELECTION = dg.AssetSelection.checks(reconciliation_rules)

extract_job = dg.define_asset_job(
    "extract", selection=dg.AssetSelection.groups(*EXTRACT_GROUPS),
    description="Land reference data, billing, ERP and revrec into the raw schemas.")

usage_job = dg.define_asset_job(
    "extract_usage", selection=dg.AssetSelection.groups("usage"),
    description="Land the usage files of the selected days (daily partitions).")

reconcile_job = dg.define_asset_job(
    "reconcile",
    selection=dg.AssetSelection.groups(*EXTRACT_GROUPS) | DBT_SELECTION | RULES_SELECTION,
    description="Extract billing, ERP, revrec and reference data, dbt build (models and "
                "tests), then one check per reconciliation rule on marts/fct_exceptions. "
                "Usage files land through extract_usage (daily partitions).")
