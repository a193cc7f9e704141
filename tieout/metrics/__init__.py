"""Operating metrics (DESIGN §8): what each run did, measured while it did it.

- ``catalog``: every metric name, its unit, and how a retried step's values combine.
- ``recorder``: ``HttpRecorder``, fed by ``HttpClient`` and the connectors per endpoint.
- ``extraction``, ``postings``, ``exceptions``: a step's metric rows from what it measured.
- ``store``: one transaction per step into ``ops.run_metrics``, kept across runs.
- ``runs``: which run a step belongs to (``tieout run`` tags its Dagster runs).
- ``history`` and ``health``: reading runs back, and judging them for ``tieout status``.
"""

from .catalog import METRICS, Metric, MetricDef
from .recorder import HttpRecorder

__all__ = ["METRICS", "HttpRecorder", "Metric", "MetricDef"]
