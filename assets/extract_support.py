"""Raw support assets: organizations (support entitlements) and service credits.

Support is an optional source: with no ``[sources.support]`` in the configuration the asset
still materializes, landing nothing, so jobs, freshness checks and downstream models behave
the same for companies without a support platform.
"""

from .raw_sources import raw_source_assets

extract_support = raw_source_assets(
    "support", "Organizations with their support entitlements, and the service credits agents "
    "promised, from the support platform.")
