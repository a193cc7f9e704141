"""``tieout status``: the last runs and the last run's operating metrics, with an exit code a
monitor can alert on.

Exit codes: 0 healthy; 1 (``EXIT_UNHEALTHY``) when the latest run failed or never finished, a
``[monitoring]`` threshold was crossed (posting success rate, and optionally quarantined
records and API p95 latency), or a source has not landed within ``[orchestration]
source_freshness_hours``; 2 for bad input.  It reads the warehouse through a read-only
connection held for milliseconds, so it never stands in a run's way.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tieout.config import TieoutConfig, load_config
from tieout.metrics.health import EXIT_HEALTHY, EXIT_UNHEALTHY, Breach, judge
from tieout.metrics.history import RunRecord, StoredMetric, endpoint_figures
from tieout.metrics.postings import ENDPOINT as POSTINGS_ENDPOINT

from .output import console

READ_WAIT_SECONDS = 10.0  # a run stage may hold the write lock; say so rather than hang


class StatusFormat(StrEnum):
    """How status is written."""

    table = "table"
    json = "json"


def expected_sources(cfg: TieoutConfig) -> list[str]:
    """Sources that must land every run: reference and every configured source but usage,
    whose daily files land only when new ones arrive (as Dagster's freshness checks)."""
    return [*(["reference"] if cfg.reference else []),
            *(name for name in cfg.sources if name != "usage")]


def span(seconds: float | None) -> str:
    """A duration for people: ``850 ms``, ``42.1 s``, ``3m 05s``, ``5h 02m``, ``12d 4h``."""
    if seconds is None:
        return "—"
    if abs(seconds) < 1:
        return f"{seconds * 1000:.0f} ms"
    if abs(seconds) < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def _utc(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _interrupted(cfg: TieoutConfig, runs: Sequence[RunRecord]) -> bool:
    """The newest run is a ``tieout run`` still marked running whose process is gone."""
    from tieout.warehouse.run_lock import active_holder

    if not runs or runs[0].status != "running" or not runs[0].scope.startswith("tieout run"):
        return False
    holder = active_holder(cfg.warehouse)
    if holder is None:
        return True
    try:
        since = dt.datetime.fromisoformat(holder.started.replace("Z", "+00:00"))
    except ValueError:
        return False
    return since > runs[0].started_at + dt.timedelta(seconds=1)  # a later run holds it


def gather(cfg: TieoutConfig, limit: int) -> dict[str, Any]:
    """Runs, the metrics of each, and the sources' last landing, read in one short
    read-only session."""
    from tieout.metrics.history import last_landed, metrics_of, recent_runs
    from tieout.warehouse.connection import open_read_only

    con = open_read_only(cfg.warehouse, READ_WAIT_SECONDS)
    try:
        runs = recent_runs(con, limit)
        metrics: dict[str, list[StoredMetric]] = defaultdict(list)
        for row in metrics_of(con, [r.run_id for r in runs]):
            metrics[row.run_id].append(row)
        landed = last_landed(con, expected_sources(cfg))
    finally:
        con.close()
    return {"runs": runs, "metrics": dict(metrics), "landed": landed}


# ---- the table ------------------------------------------------------------------------------
def runs_table(runs: Sequence[RunRecord]) -> Table:
    """The last runs, newest first."""
    table = Table("run", "what", "status", "started (UTC)", "took", "error",
                  title="Latest runs", title_justify="left")
    colors = {"succeeded": "green", "failed": "red", "running": "yellow"}
    for run in runs:
        error = (run.error or "")[:90] + ("…" if run.error and len(run.error) > 90 else "")
        table.add_row(Text(run.run_id), Text(run.scope),
                      Text(run.status, style=colors.get(run.status, "")),
                      _utc(run.started_at), span(run.seconds), Text(error))
    return table


def _by(metrics: Sequence[StoredMetric], name: str) -> list[StoredMetric]:
    return [m for m in metrics if m.metric == name]


def endpoints_table(metrics: Sequence[StoredMetric]) -> Table | None:
    """One row per source and endpoint the run extracted from (stage ``extract``)."""
    rows = endpoint_figures(metrics)
    if not rows:
        return None
    table = Table("source", "endpoint", "records", "pages", "rec/s", "p50 ms", "p95 ms",
                  "retries", "errors", "dups", title="Last run: API endpoints",
                  title_justify="left")
    for column in table.columns[2:8]:
        column.justify = "right"
    for row in rows:
        table.add_row(row.source, Text(row.endpoint), f"{row.records:,.0f}",
                      f"{row.pages:,.0f}", _number(row.throughput, 0),
                      _number(row.latency_p50), _number(row.latency_p95),
                      f"{row.retries:,.0f}", row.error_text or "—", f"{row.duplicates:,.0f}")
    return table


def _number(value: float | None, places: int = 1) -> str:
    return "—" if value is None else f"{value:,.{places}f}"


def summary_lines(metrics: Sequence[StoredMetric]) -> list[str]:
    """Per source totals, quarantine, journals and exceptions of one run, a line each."""
    lines: list[str] = []
    seconds = {m.source: m.value for m in _by(metrics, "extract_seconds")}
    received: dict[str, float] = defaultdict(float)
    for m in _by(metrics, "records_received"):
        received[m.source] += m.value
    landing: dict[str, float] = defaultdict(float)
    for m in _by(metrics, "duplicates_suppressed"):
        if m.dimension == "landing":
            landing[m.source] += m.value
    quarantined: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for m in _by(metrics, "records_quarantined"):
        quarantined[m.source][m.dimension] += m.value
    for source in sorted(seconds):
        text = (f"extract {source}: {received[source]:,.0f} records in "
                f"{span(seconds[source])}")
        if landing[source]:
            text += f", {landing[source]:,.0f} repeated keys collapsed by landing"
        reasons = quarantined.get(source)
        if reasons:
            detail = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(reasons.items()))
            text += f", {sum(reasons.values()):,.0f} quarantined ({detail})"
        lines.append(text)
    journal: dict[str, float] = defaultdict(float)  # posting figures, dimensions summed
    post_errors: dict[str, float] = {}
    for m in metrics:
        if m.stage == "journals" and m.endpoint == POSTINGS_ENDPOINT:
            journal[m.metric] += m.value
            if m.metric == "errors":
                post_errors[m.dimension] = m.value
    if "journal_batches_posted" in journal or "posting_success_rate" in journal:
        text = (f"journals: {journal['journal_batches_posted']:,.0f} posted, "
                f"{journal['journal_batches_failed']:,.0f} failed, "
                f"{journal['journal_batches_dead_lettered']:,.0f} dead-lettered")
        if "posting_success_rate" in journal:
            text += (f"; success rate {journal['posting_success_rate']:.2%} of "
                     f"{journal['journal_post_attempts']:,.0f} POSTs")
        if post_errors:
            text += "; POST errors " + " ".join(f"{k}:{v:,.0f}"
                                                for k, v in sorted(post_errors.items()))
        for name, label in (("posting_lag", "lag"), ("usage_to_journal", "usage→journal")):
            if f"{name}_p50" in journal:
                text += (f"; {label} p50 {span(journal[f'{name}_p50'])} "
                         f"p95 {span(journal[f'{name}_p95'])}")
        lines.append(text)
    exceptions: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for m in metrics:
        if m.stage == "review":
            severity = m.dimension.rsplit("|", 1)[-1]
            exceptions[m.metric.removeprefix("exceptions_")][severity] += m.value
    if exceptions:
        parts = []
        for kind in ("open", "new", "reopened", "auto_resolved"):
            by = exceptions.get(kind, {})
            split = ", ".join(f"{v:,.0f} {k}" for k, v in sorted(by.items()) if v)
            parts.append(f"{sum(by.values()):,.0f} {kind.replace('_', '-')}"
                         + (f" ({split})" if split else ""))
        lines.append("exceptions: " + "; ".join(parts))
    return lines


def freshness_table(cfg: TieoutConfig, landed: dict[str, dt.datetime | None],
                    now: dt.datetime) -> Table:
    """When each expected source last landed, against the freshness window."""
    hours = cfg.orchestration.source_freshness_hours
    table = Table("source", "last landed (UTC)", "age", "fresh",
                  title=f"Sources (fresh within {hours} h)", title_justify="left")
    for source, at in landed.items():
        age = None if at is None else (now - at).total_seconds()
        fresh = age is not None and age <= hours * 3600
        table.add_row(source, _utc(at), span(age),
                      Text("yes" if fresh else "STALE", style="green" if fresh else "red"))
    return table


# ---- json -----------------------------------------------------------------------------------
def as_json(cfg: TieoutConfig, data: dict[str, Any], breaches: Sequence[Breach],
            code: int) -> dict[str, Any]:
    """Everything the table shows, as plain JSON values."""
    runs: list[RunRecord] = data["runs"]
    last = runs[0].run_id if runs else None
    return {
        "warehouse": str(cfg.warehouse), "healthy": not breaches, "exit_code": code,
        "breaches": [{"check": b.check, "message": b.message} for b in breaches],
        "runs": [{"run_id": r.run_id, "scope": r.scope, "status": r.status,
                  "started_at": r.started_at.isoformat(),
                  "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                  "seconds": r.seconds, "error": r.error} for r in runs],
        "last_run_metrics": [
            {"stage": m.stage, "metric": m.metric, "source": m.source, "endpoint": m.endpoint,
             "dimension": m.dimension, "value": m.value, "unit": m.unit}
            for m in data["metrics"].get(last, [])],
        "sources_last_landed": {s: at.isoformat() if at else None
                                for s, at in data["landed"].items()},
    }


def status(
    config: Annotated[Path, typer.Option("--config", help="The tieout.toml to check.")] = Path(
        "tieout.toml"),
    runs: Annotated[int, typer.Option("--runs", min=1, max=1000, metavar="N",
                                      help="How many of the latest runs to list.")] = 5,
    output: Annotated[StatusFormat, typer.Option("--format", help="table or json.")
                      ] = StatusFormat.table,
) -> None:
    """The last runs and the last run's operating metrics; exit 1 when the last run failed,
    a [monitoring] threshold was crossed or a source is stale."""
    cfg = load_config(config)
    now = dt.datetime.now(dt.UTC)
    data = gather(cfg, runs)
    recent: list[RunRecord] = data["runs"]
    breaches = judge(recent, data["metrics"], data["landed"], limits=cfg.monitoring,
                     freshness_hours=cfg.orchestration.source_freshness_hours, now=now,
                     interrupted=_interrupted(cfg, recent))
    code = EXIT_UNHEALTHY if breaches else EXIT_HEALTHY
    if output is StatusFormat.json:
        json.dump(as_json(cfg, data, breaches, code), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        out = Console(file=sys.stdout, width=max(console.width, 140))
        out.print(runs_table(recent))
        if recent:
            last = data["metrics"].get(recent[0].run_id, [])
            endpoints = endpoints_table(last)
            if endpoints is not None:
                out.print(endpoints)
            for line in summary_lines(last):
                out.print(Text(line))
        out.print(freshness_table(cfg, data["landed"], now))
        if breaches:
            for breach in breaches:
                out.print(Text(f"UNHEALTHY ({breach.check}): {breach.message}", style="red"))
        else:
            out.print(Text("healthy", style="green"))
    if code != EXIT_HEALTHY:
        raise typer.Exit(code)
