"""Dagster assets: raw sources now; dbt models, exceptions and journals as they arrive."""

from .extract_billing import extract_billing
from .extract_erp import extract_erp
from .extract_reference import extract_reference
from .extract_revrec import extract_revrec
from .extract_usage import USAGE_PARTITIONS, raw_usage_events

RAW_ASSETS = [extract_reference, extract_billing, extract_erp, extract_revrec, raw_usage_events]

__all__ = ["RAW_ASSETS", "USAGE_PARTITIONS"]
