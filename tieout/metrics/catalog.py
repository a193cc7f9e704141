"""The operating metrics' vocabulary: every name tieout stores in ``ops.run_metrics``, with its
unit and how two measurements of it in one run combine.

One list, so the writers, ``tieout status``, the close report and the README cannot drift
apart on what "latency_p95" means or which unit it is in.  ``additive`` decides what happens
when a step of a run is retried (Dagster's retry policy re-runs a failed extraction inside the
same run): counts of the failed attempt and of the retry are both real traffic and add up,
while a percentile or a rate cannot be added, so the retry's value replaces the earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricDef:
    """One metric: its unit, whether repeated measurements in a run add, what it measures."""

    name: str
    unit: str
    additive: bool
    description: str


_DEFS: tuple[MetricDef, ...] = (
    # -- extraction, per source and API endpoint (HttpClient and the connectors) -------------
    MetricDef("http_requests", "requests", True,
              "HTTP attempts to the endpoint, retries included"),
    MetricDef("pages_fetched", "pages", True, "successful answers (pages) of the endpoint"),
    MetricDef("records_fetched", "records", True,
              "records the connector handed on from the endpoint; dimension: contract table"),
    MetricDef("throughput", "records/s", False,
              "per endpoint: records fetched / seconds spent on its requests and retry waits; "
              "per source (endpoint ''): records received by the gate / extraction seconds"),
    MetricDef("latency_p50", "ms", False, "median latency of the endpoint's HTTP attempts"),
    MetricDef("latency_p95", "ms", False, "95th percentile latency of the endpoint's attempts"),
    MetricDef("retries", "retries", True, "attempts retried after a retryable failure"),
    MetricDef("errors", "errors", True,
              "failed attempts; dimension: HTTP status, or timeout / connection / truncated"),
    MetricDef("duplicates_suppressed", "records", True,
              "repeated records dropped: dimension 'connector' (an exact repeat across pages, "
              "endpoint = API path) or 'landing' (a key read twice in one unit, newest kept, "
              "endpoint = contract table)"),
    MetricDef("records_received", "records", True,
              "records the pandera gate received; endpoint: contract table"),
    MetricDef("records_quarantined", "records", True,
              "records the gate quarantined; endpoint: contract table, dimension: the check "
              "(a record failing several checks counts once, under its first)"),
    MetricDef("extract_seconds", "s", True, "wall-clock time of the source's extraction"),
    # -- usage journal posting (source 'erp', endpoint the journal entry record API) ---------
    MetricDef("journal_batches_posted", "batches", True,
              "batch versions the run posted (dimension 'created') or found already in the "
              "ERP ('confirmed')"),
    MetricDef("journal_batches_failed", "batches", True,
              "batch versions left failed, to be retried by the next run"),
    MetricDef("journal_batches_dead_lettered", "batches", True,
              "batch versions the run dead-lettered"),
    MetricDef("journal_post_attempts", "attempts", False,
              "POSTs of journal entries; dimension: outcome (created, duplicate, retryable, "
              "unknown, rejected)"),
    MetricDef("posting_success_rate", "ratio", False,
              "POSTs answered created or duplicate / POSTs (a lost answer counts as a failure)"),
    MetricDef("posting_lag_p50", "s", False,
              "median of posted_at - window end over the versions the run posted"),
    MetricDef("posting_lag_p95", "s", False,
              "95th percentile of posted_at - window end over the versions the run posted"),
    MetricDef("usage_events_journaled", "events", False,
              "usage events in the batch versions the run posted"),
    MetricDef("usage_to_journal_p50", "s", False,
              "median of journal posted_at - event occurred_at over those events"),
    MetricDef("usage_to_journal_p95", "s", False,
              "95th percentile of journal posted_at - event occurred_at over those events"),
    # -- exceptions, per rule (dimension 'RULE|severity'), from the run's review sync ---------
    MetricDef("exceptions_open", "exceptions", False, "exceptions detected by the run"),
    MetricDef("exceptions_new", "exceptions", False, "exceptions first detected by the run"),
    MetricDef("exceptions_reopened", "exceptions", False,
              "resolved exceptions the run detected again"),
    MetricDef("exceptions_auto_resolved", "exceptions", False,
              "exceptions the run no longer detected (resolved automatically)"),
)

METRICS: dict[str, MetricDef] = {m.name: m for m in _DEFS}


@dataclass(frozen=True)
class Metric:
    """One measured value of a run, before it is stored.

    ``source`` is a system (billing, erp, ...) or '' for run-wide metrics; ``endpoint`` an API
    path with ids replaced by ``{id}`` (never a query string), a contract table, or '';
    ``dimension`` splits a metric (HTTP status, quarantine check, ``RULE|severity``) or is ''.
    """

    metric: str
    value: float
    source: str = ""
    endpoint: str = ""
    dimension: str = ""

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}")

    @property
    def unit(self) -> str:
        """The metric's unit, from the catalogue."""
        return METRICS[self.metric].unit
