"""Raw revenue-recognition assets: schedules and their period lines."""

from .raw_sources import raw_source_assets

extract_revrec = raw_source_assets(
    "revrec", "Revenue schedules and schedule lines from the revenue-recognition platform.")
