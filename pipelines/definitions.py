"""The only place tieout's Dagster ``Definitions`` are assembled (loaded by workspace.yaml).

Assets, checks, resources, jobs, schedules and sensors are added here as the pipeline
grows; nothing does I/O at import time.
"""

from __future__ import annotations

import dagster as dg

defs = dg.Definitions()
