"""Raw source assets: one multi-asset per source system, one asset per raw table.

A source's tables are extracted together (an API pass over invoices also yields their lines),
so each source is a multi-asset whose materialization lands every table of that source and
reports, per table, the gate's counts and money totals, with blocking checks that every
received record was landed or quarantined and that natural keys are unique.  Each extraction
is a step of its run (``tieout.metrics.runs``): its operating metrics - API latency, retries,
errors by status, repeats suppressed, quarantine by check - go to ``ops.run_metrics`` and onto
the tables' metadata.
"""


import warnings
from collections.abc import Iterator
from typing import Any

import dagster as dg
import duckdb
from dagster import AssetExecutionContext

from pipelines.resources import SourceSecrets, TieoutSettings
from seeds.tables import KEYS
from tieout.connectors.http import SourceError
from tieout.errors import TieoutError
from tieout.extract.plan import source_tables
from tieout.extract.runner import ExtractReport
from tieout.extract.service import extract_measured
from tieout.metrics import Metric
from tieout.metrics.runs import run_id_of
from tieout.warehouse.connection import open_warehouse
from tieout.warehouse.schema import raw_table

from .money_totals import money_totals
from .operating_metrics import table_metadata

GATE_CHECK = "gate_accounts_for_every_record"
KEY_CHECK = "natural_key_is_unique"
QUARANTINE_CHECK = "nothing_quarantined"


def asset_key(table: str) -> dg.AssetKey:
    """``raw/<source>/<entity>`` for a contract table."""
    source, entity = table.split("/", 1)
    return dg.AssetKey(["raw", source, entity])


def _checks(table: str) -> list[dg.AssetCheckSpec]:
    key = asset_key(table)
    return [
        dg.AssetCheckSpec(GATE_CHECK, asset=key, blocking=True,
                          description="received = landed + quarantined for every batch"),
        dg.AssetCheckSpec(KEY_CHECK, asset=key, blocking=True,
                          description="no natural key appears twice in the raw table"),
        dg.AssetCheckSpec(QUARANTINE_CHECK, asset=key,
                          description="warns when the pandera gate quarantined records"),
    ]


def results(con: duckdb.DuckDBPyConnection, table: str, report: ExtractReport,
            metrics: list[Metric] | None = None, run_id: str | None = None) -> Iterator[
        dg.MaterializeResult | dg.AssetCheckResult]:
    """Materialization metadata and check results of one raw table after a run (with the
    extraction's operating metrics for the table, when given)."""
    key = asset_key(table)
    counts = report.tables.get(table)
    received = counts.received if counts else 0
    landed = counts.landed if counts else 0
    quarantined = counts.quarantined if counts else 0
    target = raw_table(table)
    keys = ", ".join(f'"{k}"' for k in KEYS[table])
    total, duplicates = con.execute(
        f"SELECT count(*), count(*) - count(DISTINCT ({keys})) FROM {target}").fetchall()[0]
    metadata: dict[str, Any] = {
        "received": received, "landed": landed, "quarantined": quarantined,
        "inserted": counts.inserted if counts else 0,
        "updated": counts.updated if counts else 0, "rows_in_table": int(total),
        "run_id": report.run_id,
    }
    metadata.update(money_totals(con, table))
    if metrics is not None:
        metadata.update(table_metadata(table, metrics, run_id or report.run_id))
    yield dg.MaterializeResult(asset_key=key, metadata=metadata)
    yield dg.AssetCheckResult(
        asset_key=key, check_name=GATE_CHECK, passed=received == landed + quarantined,
        metadata={"received": received, "landed": landed, "quarantined": quarantined})
    yield dg.AssetCheckResult(asset_key=key, check_name=KEY_CHECK, passed=duplicates == 0,
                              metadata={"duplicate_keys": int(duplicates)})
    yield dg.AssetCheckResult(
        asset_key=key, check_name=QUARANTINE_CHECK, passed=quarantined == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"quarantined": quarantined, "quarantine_table": f"quarantine."
                  f"{table.replace('/', '_')}"})


def raw_source_assets(source: str, description: str) -> dg.AssetsDefinition:
    """The multi-asset that extracts every table of ``source`` into its raw schema."""
    tables = source_tables(source)
    specs = [dg.AssetSpec(asset_key(t), group_name=source, kinds={"duckdb"},
                          description=f"{description} Raw table {raw_table(t)}.")
             for t in tables]

    @dg.multi_asset(name=f"extract_{source}", specs=specs,
                    check_specs=[c for t in tables for c in _checks(t)],
                    retry_policy=dg.RetryPolicy(max_retries=2, delay=10,
                                                backoff=dg.Backoff.EXPONENTIAL),
                    description=description)
    def _extract(context: AssetExecutionContext, tieout: TieoutSettings,
                 secrets: SourceSecrets) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        cfg = tieout.load()
        run_id = run_id_of(context.run.tags, context.run.run_id)
        con = open_warehouse(cfg.warehouse, cfg.warehouse_memory_limit)
        try:
            try:
                report, metrics = extract_measured(
                    con, cfg, source, run_id=run_id,
                    scope=f"dagster:{context.run.run_id}:{source}",
                    token=_token(cfg, source, secrets))
            except BaseException as exc:
                if _permanent(exc):  # retrying cannot help: fail now, with the one-line reason
                    raise dg.Failure(description=str(exc), allow_retries=False) from None
                raise
            if source not in cfg.sources:  # an optional source this company does not have
                context.log.info(f"{source}: not configured; its raw tables stay as they are")
            else:
                context.log.info(f"{source}: {report.received:,} records in "
                                 f"{report.seconds:.1f} s")
            for table in tables:
                yield from results(con, table, report, metrics, run_id)
        finally:
            con.close()

    return _extract


def _permanent(exc: BaseException) -> bool:
    """Errors no retry can fix: bad input or configuration, or a 4xx other than 429."""
    if isinstance(exc, SourceError):
        return exc.status is not None and 400 <= exc.status < 500 and exc.status != 429
    return isinstance(exc, TieoutError) and not isinstance(exc, SourceError)


def _token(cfg: object, source: str, secrets: SourceSecrets) -> str | None:
    src = cfg.sources.get(source)  # type: ignore[attr-defined]
    if src is None or src.mode != "api" or not src.token_env:
        return None
    return secrets.token(src.token_env)


USAGE_PARTITIONS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)


with warnings.catch_warnings():  # single-run backfills are beta in Dagster; we rely on them
    warnings.simplefilter("ignore", dg.BetaWarning)
    _usage_asset = dg.asset(
        key=asset_key("usage/events"), group_name="usage", kinds={"duckdb"},
        partitions_def=USAGE_PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=_checks("usage/events"),
        description="Usage events from the product's daily files (usage/date=YYYY-MM-DD/), "
                    "each file landed once (ops.usage_files). Raw table raw_usage.events.")


@_usage_asset
def raw_usage_events(context: AssetExecutionContext, tieout: TieoutSettings) -> Iterator[
        dg.MaterializeResult | dg.AssetCheckResult]:
    """Land the not-yet-seen usage files of the selected days (late files included)."""
    cfg = tieout.load()
    run_id = run_id_of(context.run.tags, context.run.run_id)
    con = open_warehouse(cfg.warehouse, cfg.warehouse_memory_limit)
    try:
        window = context.partition_time_window  # one call for the whole range
        report, metrics = extract_measured(
            con, cfg, "usage", run_id=run_id, scope=f"dagster:{context.run.run_id}:usage",
            days=(window.start.date(), window.end.date()))
        yield from results(con, "usage/events", report, metrics, run_id)
    finally:
        con.close()

