"""Raw usage events: daily-partitioned so late files and backfills land per day."""

from .raw_sources import USAGE_PARTITIONS, raw_usage_events

__all__ = ["USAGE_PARTITIONS", "raw_usage_events"]
