"""Reference data a finance team edits: accounts, account mapping, entities, FX rates."""

from .raw_sources import raw_source_assets

extract_reference = raw_source_assets(
    "reference", "Reference data (currencies, legal entities, chart of accounts, account "
                 "mapping, daily FX rates) from the reference folder.")
