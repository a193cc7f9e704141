"""A run's exception metrics: what its review sync detected, opened, reopened and resolved.

The review sync already keeps one row per run and rule in ``ops.exception_runs`` (the trend
of the close report); the metrics carry the same counts with the rule's severity from
``tieout.rules``, so an operator can watch "new errors tonight" beside the API numbers
without joining two tables.  Dimension: ``RULE|severity``.
"""

from __future__ import annotations

import duckdb

from tieout.rules import RULES

from .catalog import Metric

_COLUMNS = {"exceptions_open": "open_count", "exceptions_new": "new_count",
            "exceptions_reopened": "reopened_count",
            "exceptions_auto_resolved": "auto_resolved_count"}


def severity_of(rule: str) -> str:
    """The rule's severity ("error", "warn"), or "unknown" for a code tieout does not list."""
    known = RULES.get(rule)
    return known.severity.value if known is not None else "unknown"


def exception_metrics(con: duckdb.DuckDBPyConnection, sync_run_id: str) -> list[Metric]:
    """Rows per rule of the review sync that ran as ``sync_run_id`` (the Dagster run the
    review state names; none if it did not sync)."""
    columns = ", ".join(_COLUMNS.values())
    rows: list[Metric] = []
    for rule, *counts in con.execute(
            f"SELECT rule, {columns} FROM ops.exception_runs WHERE run_id = ? ORDER BY rule",
            [sync_run_id]).fetchall():
        dimension = f"{rule}|{severity_of(str(rule))}"
        for name, count in zip(_COLUMNS, counts, strict=True):
            rows.append(Metric(name, float(count), dimension=dimension))
    return rows
