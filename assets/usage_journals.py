"""Usage journal assets: plan, check balance, post - per daily partition of usage windows.

Partitions are the UTC days of the windows (``USAGE_PARTITIONS``, shared with the usage
files). ``ops/journal_plan`` adds the new batch versions for the partition's closed windows
to the ledger and carries the blocking check "journal batch balanced": if any postable
version does not balance, ``ops/journal_batches`` (the posting) does not run. A backfill
over any range plans and posts only what the ledger does not hold yet, so re-running a
partition, or a whole history, posts nothing twice.
"""

import datetime as dt
import warnings
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.resources import SourceSecrets, TieoutSettings
from tieout.config import TieoutConfig
from tieout.journal import ledger
from tieout.journal.plan import plan_batches
from tieout.journal.service import day_scope, journal_api, post_measured
from tieout.metrics import HttpRecorder
from tieout.metrics.runs import run_id_of
from tieout.warehouse.connection import open_warehouse

from .dbt_translator import model_key
from .operating_metrics import posting_metadata
from .raw_sources import USAGE_PARTITIONS, _token, asset_key

PLAN_KEY = dg.AssetKey(["ops", "journal_plan"])
POSTINGS_KEY = dg.AssetKey(["ops", "journal_batches"])
BALANCED_CHECK = "journal_batch_balanced"
NO_DEAD_LETTERS = "no_dead_letters"


def _days(context: AssetExecutionContext) -> tuple[dt.date, dt.date]:
    window = context.partition_time_window
    return window.start.date(), (window.end - dt.timedelta(days=1)).date()


def _erp_token(cfg: TieoutConfig, secrets: SourceSecrets) -> str:
    token = _token(cfg, "erp", secrets)
    if token is None:
        raise dg.Failure(f"{cfg.path}: journal posting needs [sources.erp] in api mode")
    return token


with warnings.catch_warnings():  # single-run backfills are beta in Dagster; we rely on them
    warnings.simplefilter("ignore", dg.BetaWarning)
    _plan_asset = dg.asset(
        key=PLAN_KEY, group_name="journals", kinds={"duckdb"}, partitions_def=USAGE_PARTITIONS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[asset_key("usage/events"), model_key("marts", "fct_usage_journal_lines")],
        check_specs=[dg.AssetCheckSpec(
            BALANCED_CHECK, asset=PLAN_KEY, blocking=True,
            description="every batch version waiting to be posted balances (debits = credits) "
                        "and has lines; otherwise nothing is posted")],
        description="New usage journal batch versions for the partition's closed windows "
                    "(originals and late-usage adjustments), from marts.fct_usage_journal_lines "
                    "into the posting ledger ops.journal_batches (status pending).",
    )
    _post_asset = dg.asset(
        key=POSTINGS_KEY, group_name="journals", kinds={"duckdb"}, partitions_def=USAGE_PARTITIONS,
        backfill_policy=dg.BackfillPolicy.single_run(), deps=[PLAN_KEY],
        retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
        check_specs=[dg.AssetCheckSpec(
            NO_DEAD_LETTERS, asset=POSTINGS_KEY,
            description="no batch is dead-lettered (replay with `tieout journal replay`)")],
        description="Posts every pending or failed batch version to the ERP journal entry API, "
                    "exactly once per version (look-up by externalId before any retry of a lost "
                    "answer). The posting ledger: ops.journal_batches, journal_batch_lines, "
                    "journal_attempts.",
    )


@_plan_asset
def journal_plan(context: AssetExecutionContext, tieout: TieoutSettings) -> Iterator[Any]:
    """Plan the partition's windows; then check every postable version balances."""
    cfg = tieout.load()
    first, last = _days(context)
    con = open_warehouse(cfg.warehouse, cfg.warehouse_memory_limit)
    try:
        plan = plan_batches(con, cfg, day_scope(cfg, first, last))
        broken = ledger.unbalanced(con)
        [(pending,)] = con.execute("select count(*) from ops.journal_batches"
                                   " where status in ('pending', 'failed')").fetchall()
    finally:
        con.close()
    yield dg.MaterializeResult(metadata={
        "originals": plan.originals, "adjustments": plan.adjustments,
        "postable_versions": int(pending), "days": f"{first} .. {last}"})
    yield dg.AssetCheckResult(
        check_name=BALANCED_CHECK, passed=not broken,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"unbalanced": len(broken),
                  "first": ", ".join(f"{b}:v{v} ({d:+d})" for b, v, d in broken[:5])})


@_post_asset
def journal_batches(context: AssetExecutionContext, tieout: TieoutSettings,
                    secrets: SourceSecrets) -> Iterator[Any]:
    """Post what the ledger holds as postable; report the outcome counts and the run's
    posting metrics (success rate, lag, usage-to-journal time)."""
    cfg = tieout.load()
    run_id = run_id_of(context.run.tags, context.run.run_id)
    recorder = HttpRecorder()
    api = journal_api(cfg, _erp_token(cfg, secrets), recorder=recorder)
    con = open_warehouse(cfg.warehouse, cfg.warehouse_memory_limit)
    try:
        report, metrics = post_measured(con, cfg, api, run_id, recorder=recorder,
                                        scope=f"dagster:{context.run.run_id}:journals")
        dead = ledger.list_batches(con, "dead_letter")
    finally:
        con.close()
        api.close()
    context.log.info(f"journal posting: {report.as_dict()}")
    yield dg.MaterializeResult(metadata={
        "posted": report.posted, "confirmed_by_lookup": report.confirmed,
        "failed": report.failed, "dead_lettered": report.dead_lettered,
        "rolled_to_next_period": report.rolled_forward,
        "errors": dg.MetadataValue.json(dict(report.errors)),
        **posting_metadata(metrics, run_id)})
    yield dg.AssetCheckResult(
        check_name=NO_DEAD_LETTERS, passed=not dead, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"dead_letters": len(dead),
                  "first": ", ".join(b.external_id for b in dead[:5])})


JOURNAL_ASSETS = [journal_plan, journal_batches]
