"""One posting run: plan new versions for the closed windows in scope, then post what is due.

The CLI (``tieout journal post``), the Dagster partitioned asset and the tests call this, so
there is one path from rated usage to the ERP. Planning and posting are separate steps on
purpose: a run that dies after planning leaves pending versions that the next run posts,
and the next plan sees them as already held, so nothing is planned twice.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import duckdb

from tieout.config import TieoutConfig
from tieout.errors import InputError, TieoutError
from tieout.metrics import HttpRecorder, Metric
from tieout.metrics.postings import posting_metrics
from tieout.metrics.runs import recorded_step
from tieout.metrics.store import write_metrics, write_metrics_after_failure
from tieout.transform.dbt_vars import snapshot_time
from tieout.warehouse.ops import new_run_id

from . import ledger
from .erp_api import JournalApi
from .plan import PlanResult, Scope, plan_batches
from .poster import Poster, PostingReport

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class PostingRun:
    """What a run planned and posted."""

    run_id: str
    scope: Scope
    plan: PlanResult
    report: PostingReport

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "window_from": self.scope.start.isoformat(),
                "window_to": self.scope.end.isoformat(), "planned": self.plan.created,
                "originals": self.plan.originals, "adjustments": self.plan.adjustments,
                **self.report.as_dict()}


def erp_token(cfg: TieoutConfig) -> str:
    """The ERP token from the environment variable the configuration names."""
    src = cfg.sources.get("erp")
    if src is None or src.mode != "api" or not src.base_url or not src.token_env:
        raise TieoutError(f"{cfg.path}: journal posting needs [sources.erp] in api mode "
                          "(base_url and token_env)")
    token = os.environ.get(src.token_env, "")
    if not token:
        raise TieoutError(f"environment variable {src.token_env} is not set (posting "
                          "journals to the ERP needs it)")
    return token


def journal_api(cfg: TieoutConfig, token: str, **client_options: Any) -> JournalApi:
    """A ``JournalApi`` for the configured ERP."""
    src = cfg.sources.get("erp")
    if src is None or src.base_url is None or src.mode != "api":
        raise TieoutError(f"{cfg.path}: journal posting needs [sources.erp] in api mode")
    return JournalApi(src.base_url, token, **client_options)


def day_scope(cfg: TieoutConfig, first: dt.date, last: dt.date,
              now: dt.datetime | None = None) -> Scope:
    """Windows starting on the UTC days ``first``..``last`` (inclusive), closed by ``now``."""
    start = dt.datetime.combine(first, dt.time(), dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
    return Scope(start=start, end=end, now=now or snapshot_time(cfg))


def all_scope(cfg: TieoutConfig, now: dt.datetime | None = None) -> Scope:
    """Every window closed by ``now``."""
    moment = now or snapshot_time(cfg)
    return Scope(start=EPOCH, end=moment, now=moment)


def post_usage_journals(con: duckdb.DuckDBPyConnection, cfg: TieoutConfig, api: JournalApi,
                        scope: Scope, **poster_options: Any) -> PostingRun:
    """Plan the scope's closed windows, then post every postable version in the ledger.

    Posting is not limited to the scope: a version left failed by an earlier run is retried
    by the next one, whatever day it belongs to.
    """
    run_id = new_run_id()
    plan = plan_batches(con, cfg, scope)
    poster = Poster(con, cfg, api, run_id, **poster_options)
    report = poster.post_all()
    return PostingRun(run_id=run_id, scope=scope, plan=plan, report=report)


def post_measured(con: duckdb.DuckDBPyConnection, cfg: TieoutConfig, api: JournalApi,
                  run_id: str, *, scope: str, recorder: HttpRecorder | None = None,
                  **poster_options: Any) -> tuple[PostingReport, list[Metric]]:
    """Post every postable version as a step of run ``run_id`` (the Dagster posting asset).

    The step is an ``ops.runs`` row (``scope``, parent ``run_id``); every attempt carries
    ``run_id``, and the step's operating metrics (``recorder``'s view of the ERP calls, the
    success rate, lag and usage-to-journal time read back from the ledger) go to
    ``ops.run_metrics`` (stage ``journals``) however it ends.
    """
    poster = Poster(con, cfg, api, run_id, **poster_options)

    def measured() -> list[Metric]:
        calls = recorder.metrics() if recorder is not None else []
        return [*calls, *posting_metrics(con, run_id, poster.report,
                                         cfg.journal.window_minutes)]

    with recorded_step(con, scope, run_id):
        try:
            report = poster.post_all()
        except BaseException:
            try:
                failed = measured()
            except Exception:  # the posting's own error is the one to report
                failed = []
            write_metrics_after_failure(con, run_id, "journals", failed)
            raise
        metrics = measured()
        write_metrics(con, run_id, "journals", metrics)
    return report, metrics


def dead_letters(con: duckdb.DuckDBPyConnection, key: str) -> list[ledger.Batch]:
    """The dead-lettered versions of batch (or external id) ``key``; ``InputError`` if none."""
    versions = ledger.find(con, key)
    if not versions:
        raise InputError(f"no journal batch {key!r} in the ledger")
    dead = [v for v in versions if v.status == "dead_letter"]
    if not dead:
        states = ", ".join(f"v{v.batch_version} {v.status}" for v in versions)
        raise InputError(f"journal batch {key!r} is not dead-lettered ({states}); "
                         "only dead letters are replayed")
    return dead


def replay_dead_letter(con: duckdb.DuckDBPyConnection, cfg: TieoutConfig, api: JournalApi,
                       key: str, **poster_options: Any) -> PostingRun:
    """Requeue the dead-lettered versions of batch (or external id) ``key`` and post them.

    Nothing is planned; the replayed versions keep their content and externalId, and any
    earlier POST whose answer was lost is looked up before a new one.
    """
    dead = dead_letters(con, key)
    now = dt.datetime.now(dt.UTC)
    for version in dead:
        ledger.requeue(con, version, now)
    run_id = new_run_id()
    poster = Poster(con, cfg, api, run_id, **poster_options)
    report = poster.post_all(batch_ids=sorted({v.batch_id for v in dead}))
    scope = Scope(start=min(v.window_start for v in dead), end=max(v.window_end for v in dead),
                  now=now)
    return PostingRun(run_id=run_id, scope=scope, plan=PlanResult(0, 0), report=report)
