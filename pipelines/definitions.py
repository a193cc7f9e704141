"""The only place tieout's Dagster ``Definitions`` are assembled (loaded by workspace.yaml).

The warehouse is one DuckDB file, so every job runs in process (one writer at a time).
``TIEOUT_CONFIG`` names the ``tieout.toml`` (default: ./tieout.toml); it is a path, not a
secret.  Nothing does I/O at import time.
"""

from __future__ import annotations

import dagster as dg

from assets import RAW_ASSETS
from pipelines.jobs import extract_job, usage_job
from pipelines.resources import SourceSecrets, TieoutSettings

defs = dg.Definitions(
    assets=RAW_ASSETS,
    jobs=[extract_job, usage_job],
    resources={
        "tieout": TieoutSettings(config_path=dg.EnvVar("TIEOUT_CONFIG")),
        "secrets": SourceSecrets(),
    },
    executor=dg.in_process_executor,
)
