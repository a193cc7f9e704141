"""A run's operating metrics as Dagster asset metadata, so the UI plots them per asset.

The numbers are the ones stored in ``ops.run_metrics`` (``tieout.metrics``), shaped for the
asset that produced them: a raw table gets the API endpoint that served most of its records
(its latency, retries and errors by status), its repeats suppressed and its quarantine by
check; the posting and the review state get the posting and exception figures.  Dagster keeps
every materialization's metadata, so each number is a time series in the asset's page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import dagster as dg

from tieout.metrics import Metric


def _value(metrics: Iterable[Metric], name: str, **match: str) -> float | None:
    for m in metrics:
        if m.metric == name and all(getattr(m, k) == v for k, v in match.items()):
            return m.value
    return None


def table_metadata(table: str, metrics: list[Metric], run_id: str) -> dict[str, Any]:
    """Metadata of one raw table from its source's extraction metrics."""
    source = table.split("/", 1)[0]
    served = Counter({m.endpoint: m.value for m in metrics
                      if m.metric == "records_fetched" and m.dimension == table})
    quarantined = {m.dimension: int(m.value) for m in metrics
                   if m.metric == "records_quarantined" and m.endpoint == table}
    landing = _value(metrics, "duplicates_suppressed", endpoint=table, dimension="landing")
    metadata: dict[str, Any] = {
        "metrics_run_id": run_id,
        "quarantined_by_reason": dg.MetadataValue.json(quarantined),
        "duplicates_suppressed_landing": int(landing or 0),
    }
    if not served:  # files mode: no API behind the table
        return metadata
    endpoint = served.most_common(1)[0][0]
    on = {"source": source, "endpoint": endpoint}
    errors = {m.dimension: int(m.value) for m in metrics
              if m.metric == "errors" and m.source == source and m.endpoint == endpoint}
    metadata.update({
        "api_endpoint": endpoint,
        "records_fetched": int(sum(served.values())),
        "api_requests": int(_value(metrics, "http_requests", **on) or 0),
        "pages_fetched": int(_value(metrics, "pages_fetched", **on) or 0),
        "api_retries": int(_value(metrics, "retries", **on) or 0),
        "api_errors_by_status": dg.MetadataValue.json(errors),
        "duplicates_suppressed_connector": int(
            _value(metrics, "duplicates_suppressed", dimension="connector", **on) or 0),
    })
    for name, key in (("latency_p50", "api_latency_p50_ms"), ("latency_p95", "api_latency_p95_ms"),
                      ("throughput", "throughput_records_per_s")):
        value = _value(metrics, name, **on)
        if value is not None:
            metadata[key] = dg.MetadataValue.float(value)
    return metadata


def posting_metadata(metrics: list[Metric], run_id: str) -> dict[str, Any]:
    """Metadata of the posting asset: success rate, lag, end-to-end time, attempts."""
    metadata: dict[str, Any] = {
        "metrics_run_id": run_id,
        "post_attempts_by_outcome": dg.MetadataValue.json(
            {m.dimension: int(m.value) for m in metrics
             if m.metric == "journal_post_attempts"}),
        "usage_events_journaled": int(_value(metrics, "usage_events_journaled") or 0),
    }
    for name, key in (("posting_success_rate", "posting_success_rate"),
                      ("posting_lag_p50", "posting_lag_p50_s"),
                      ("posting_lag_p95", "posting_lag_p95_s"),
                      ("usage_to_journal_p50", "usage_to_journal_p50_s"),
                      ("usage_to_journal_p95", "usage_to_journal_p95_s")):
        value = _value(metrics, name)
        if value is not None:
            metadata[key] = dg.MetadataValue.float(value)
    return metadata


def exception_metadata(metrics: list[Metric], run_id: str) -> dict[str, Any]:
    """Metadata of the review state: per ``RULE|severity``, what the run found and moved."""
    table: dict[str, dict[str, int]] = {}
    for m in metrics:
        if m.value:
            table.setdefault(m.dimension, {})[m.metric.removeprefix("exceptions_")] = int(
                m.value)
    by_severity: Counter[str] = Counter()
    for m in metrics:
        if m.metric == "exceptions_new":
            by_severity[m.dimension.rsplit("|", 1)[-1]] += int(m.value)
    return {"metrics_run_id": run_id,
            "exceptions_by_rule_and_severity": dg.MetadataValue.json(table),
            "new_by_severity": dg.MetadataValue.json(dict(by_severity))}
