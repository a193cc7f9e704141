"""Dagster assets: raw sources here; the dbt models (``assets.dbt_models``) and the rule checks
(``assets.rule_checks``) are imported by ``pipelines`` only, so extraction never loads dbt.
"""

from .extract_billing import extract_billing
from .extract_erp import extract_erp
from .extract_reference import extract_reference
from .extract_revrec import extract_revrec
from .extract_support import extract_support
from .extract_usage import USAGE_PARTITIONS, raw_usage_events

# Groups of the unpartitioned sources (usage is daily-partitioned and runs on its own).
EXTRACT_GROUPS = ("reference", "billing", "erp", "revrec", "support")
RAW_ASSETS = [extract_reference, extract_billing, extract_erp, extract_revrec, extract_support,
              raw_usage_events]

__all__ = ["EXTRACT_GROUPS", "RAW_ASSETS", "USAGE_PARTITIONS"]
