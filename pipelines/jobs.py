"""Jobs: what a run materializes."""

from __future__ import annotations

import dagster as dg

EXTRACT_GROUPS = ("reference", "billing", "erp", "revrec")

extract_job = dg.define_asset_job(
    "extract", selection=dg.AssetSelection.groups(*EXTRACT_GROUPS),
    description="Land reference data, billing, ERP and revrec into the raw schemas.")

usage_job = dg.define_asset_job(
    "extract_usage", selection=dg.AssetSelection.groups("usage"),
    description="Land the usage files of the selected days (daily partitions).")
