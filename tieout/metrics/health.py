"""Is the pipeline healthy? The judgement behind ``tieout status``'s exit code.

A monitor only needs one bit plus a reason: the latest run failed (or died without saying so),
or a measured figure crossed a threshold of ``[monitoring]`` in ``tieout.toml``, or a source
has not landed within ``[orchestration] source_freshness_hours``.  Each threshold is judged on
the latest run that measured what it is about - the posting success rate on the latest run
that posted journals, quarantine and API latency on the latest run that extracted - so a
short ``--only rules`` run after a bad night does not hide the bad night.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tieout.config import MonitoringConfig

from .history import RunRecord, StoredMetric

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1  # the latest run failed, or a threshold was crossed (README "Operations")


@dataclass(frozen=True)
class Breach:
    """One reason the pipeline is not healthy."""

    check: str  # last_run, posting_success_rate, quarantined, latency_p95, freshness
    message: str


def _latest(runs: Sequence[RunRecord], metrics: Mapping[str, list[StoredMetric]],
            stage: str, metric: str | None = None) -> tuple[RunRecord, list[StoredMetric]] | None:
    """The newest run with metrics of ``stage`` (and of ``metric``, when given)."""
    for run in runs:
        rows = [m for m in metrics.get(run.run_id, []) if m.stage == stage]
        if rows and (metric is None or any(m.metric == metric for m in rows)):
            return run, rows
    return None


def judge(runs: Sequence[RunRecord], metrics: Mapping[str, list[StoredMetric]],
          landed: Mapping[str, dt.datetime | None], *, limits: MonitoringConfig,
          freshness_hours: int, now: dt.datetime, interrupted: bool = False) -> list[Breach]:
    """Every breach, in a fixed order; empty means healthy.

    ``runs`` newest first; ``metrics`` per run id; ``landed`` when each expected source last
    landed; ``interrupted``: the newest run says "running" but nothing runs it any more.
    """
    breaches: list[Breach] = []
    if not runs:
        breaches.append(Breach("last_run", "no run recorded in this warehouse"))
    else:
        last = runs[0]
        if last.status == "failed":
            breaches.append(Breach("last_run", f"run {last.run_id} failed: "
                                   f"{last.error or 'no reason recorded'}"))
        elif last.status == "running" and interrupted:
            breaches.append(Breach("last_run", f"run {last.run_id} started "
                                   f"{last.started_at:%Y-%m-%d %H:%M:%S} UTC never finished "
                                   "(its process is gone)"))
    posting = _latest(runs, metrics, "journals", "posting_success_rate")
    if posting is not None:
        run, rows = posting
        rate = next(m.value for m in rows if m.metric == "posting_success_rate")
        if rate < float(limits.min_posting_success_rate):
            breaches.append(Breach(
                "posting_success_rate",
                f"posting success rate {rate:.2%} in run {run.run_id} is below "
                f"[monitoring] min_posting_success_rate {limits.min_posting_success_rate}"))
    extraction = _latest(runs, metrics, "extract")
    if extraction is not None:
        run, rows = extraction
        quarantined = sum(m.value for m in rows if m.metric == "records_quarantined")
        if limits.max_quarantined is not None and quarantined > limits.max_quarantined:
            breaches.append(Breach(
                "quarantined", f"{quarantined:,.0f} records quarantined in run {run.run_id}, "
                f"more than [monitoring] max_quarantined {limits.max_quarantined:,}"))
        if limits.max_latency_p95_ms is not None:
            for m in rows:
                if m.metric == "latency_p95" and m.value > limits.max_latency_p95_ms:
                    breaches.append(Breach(
                        "latency_p95", f"{m.source} {m.endpoint} p95 latency {m.value:,.0f} ms "
                        f"in run {run.run_id}, above [monitoring] max_latency_p95_ms "
                        f"{limits.max_latency_p95_ms:,}"))
    for source, at in landed.items():
        if at is None:
            breaches.append(Breach("freshness", f"{source} has never landed"))
        elif now - at > dt.timedelta(hours=freshness_hours):
            hours = (now - at).total_seconds() / 3600
            breaches.append(Breach(
                "freshness", f"{source} last landed {hours:,.1f} hours ago, beyond "
                f"[orchestration] source_freshness_hours {freshness_hours}"))
    return breaches
