"""``tieout run``: materialize the pipeline in-process through Dagster, with a summary.

The CLI and the Dagster UI run the same assets; here the instance is Dagster's local storage
(``DAGSTER_HOME``, default ``.tieout/dagster`` beside the configuration) so runs, events and
asset history are visible in the UI afterwards.  Stages run in order, each printing one line
when it ends: extract (sources, then usage days), transform (dbt build: models and tests),
journals (plan and post usage journals to the ERP, API mode only), rules (one check per
rule code); then the exceptions by rule.  Journals posted tonight come back with tomorrow's
ERP extraction, where USAGE_JOURNAL_MISMATCH ties them out.  Exceptions are findings, not
failures: the exit code is non-zero only when a stage fails.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tieout.config import TieoutConfig, load_config
from tieout.errors import TieoutError

from .output import console, in_transit_line, rule_summary, stage_line

STAGES = ("extract", "transform", "journals", "rules")


def instance_home(path: Path) -> Path:
    """A Dagster home with local storage and telemetry off (tieout makes no outside calls)."""
    path.mkdir(parents=True, exist_ok=True)
    settings = path / "dagster.yaml"
    if not settings.exists():
        settings.write_text("telemetry:\n  enabled: false\n")
    return path


def _instance_home(config: Path) -> Path:
    home = os.environ.get("DAGSTER_HOME")
    return instance_home(Path(home) if home else config.resolve().parent / ".tieout" / "dagster")


# The CLI reports a failure in one line (the reason, from the run); the full event log stays
# in the Dagster instance.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def materialize_extract(config: Path, tags: Mapping[str, str] | None = None) -> list[Any]:
    """Run the extract assets of ``config`` in-process on the local Dagster instance.

    Two runs: the unpartitioned sources, then every daily usage partition in one run (a
    single-run backfill), so new and late usage files land without a run per day.  ``tags``
    go on both (``tieout.metrics.runs.RUN_TAG`` names the ``tieout run`` they belong to).
    """
    import dagster as dg

    from assets import EXTRACT_GROUPS, RAW_ASSETS, USAGE_PARTITIONS
    from pipelines.resources import SourceSecrets, TieoutSettings

    os.environ.setdefault("DAGSTER_HOME", str(_instance_home(config)))
    instance = dg.DagsterInstance.get()
    resources = {"tieout": TieoutSettings(config_path=str(config)), "secrets": SourceSecrets()}
    runs = [dg.materialize([a for a in RAW_ASSETS if a.partitions_def is None],
                           instance=instance, resources=resources,
                           selection=dg.AssetSelection.groups(*EXTRACT_GROUPS),
                           raise_on_error=False, run_config=QUIET, tags=dict(tags or {}))]
    days = _pending_days(config)
    if days and runs[0].success:  # one run over the days with new or late files
        first, last = (USAGE_PARTITIONS.get_partition_key_for_timestamp(
            dt.datetime.combine(d, dt.time(12), dt.UTC).timestamp()) for d in (days[0], days[-1]))
        runs.append(dg.materialize(
            RAW_ASSETS, instance=instance, resources=resources, raise_on_error=False,
            selection=dg.AssetSelection.groups("usage"), run_config=QUIET,
            tags={**(tags or {}), "dagster/asset_partition_range_start": first,
                  "dagster/asset_partition_range_end": last}))
    for result in runs:
        if not result.success:
            from .dagster_errors import failure_reason

            raise TieoutError(f"run {result.run_id} failed: {failure_reason(result)}")
    return runs


def _pending_days(config: Path) -> list[dt.date]:
    from tieout.extract.plan import pending_usage_days
    from tieout.warehouse.connection import open_warehouse

    cfg = load_config(config)
    usage = cfg.sources.get("usage")
    if usage is None or usage.path is None:
        return []
    con = open_warehouse(cfg.warehouse, cfg.warehouse_memory_limit)
    try:
        return pending_usage_days(con, usage.path)
    finally:
        con.close()


def extract_summary(results: list[Any], warehouse: Path) -> Table:
    """Per raw table: what the gate received, landed and quarantined, and the table size."""
    table = Table("table", "received", "landed", "quarantined", "rows now",
                  title=f"Extracted into {warehouse}")
    latest = {e.asset_key: e for r in results for e in r.get_asset_materialization_events()}
    for key, event in latest.items():  # a partition range reports once per day: show one
        assert key is not None
        md = {k: v.value for k, v in event.materialization.metadata.items()}
        table.add_row("/".join(key.path[1:]), f"{md.get('received', 0):,}",
                      f"{md.get('landed', 0):,}", f"{md.get('quarantined', 0):,}",
                      f"{md.get('rows_in_table', 0):,}")
    return table


def run_stages(config: Path, only: str | None = None, *,
               extract_table: bool = False, wait_lock: float = 0.0) -> list[str]:
    """Run every stage (or ``only`` one) with a progress line each; returns the Dagster run ids.

    After the rules stage, prints the exceptions by rule and what is in transit.  The whole
    run holds the warehouse's run lock (``tieout.warehouse.run_lock``), so a second run on the
    same warehouse waits up to ``wait_lock`` seconds, then refuses without writing anything,
    instead of interleaving its writes with this one's.  The run is one row of ``ops.runs``
    (how it ended, for ``tieout status``); every Dagster run it starts carries its id in
    ``RUN_TAG``, so the steps' operating metrics are this run's.
    """
    from tieout.metrics.runs import RUN_TAG, one_line
    from tieout.warehouse.ops import new_run_id
    from tieout.warehouse.run_lock import run_lock

    cfg = load_config(config)  # fail fast, with the file's own error message
    os.environ.setdefault("DAGSTER_HOME", str(_instance_home(config)))
    progress: list[str] = []
    # A refusal (another run holds the lock) is not a failed run: no alert, exit code 75.
    with run_lock(cfg.warehouse, wait_lock):
        run_id = new_run_id()
        recorded = _record_start(cfg, run_id, only)
        try:
            runs = _run_stages(config, cfg, only, extract_table, progress, {RUN_TAG: run_id})
        except BaseException as exc:  # tell the on-call person, then fail as before
            if recorded:
                _record_end(cfg, run_id, one_line(exc) or type(exc).__name__)
            if not isinstance(exc, Exception):  # interrupted: no alert, as before
                raise
            from tieout.alerts import FailureAlert, send_failure_alert

            send_failure_alert(FailureAlert(run_id=run_id, job="tieout run", where="cli",
                                            failed_step=progress[-1] if progress else None,
                                            error=" ".join(str(exc).split())))
            raise
        if recorded:
            _record_end(cfg, run_id, None)
        console.print(f"run {run_id} (tieout status --config {config} shows its metrics)",
                      markup=False, highlight=False)
        return runs


def _record_start(cfg: TieoutConfig, run_id: str, only: str | None) -> bool:
    """The run's ``ops.runs`` row; False (nothing written) when a stage that needs an existing
    warehouse would find none: that stage reports it, and no empty warehouse is created.
    Only the ops schema is ensured: the stages create what they need themselves."""
    from tieout.warehouse import ops
    from tieout.warehouse.connection import open_ops

    if only not in (None, "extract") and not cfg.warehouse.is_file():
        return False
    con = open_ops(cfg.warehouse, cfg.warehouse_memory_limit)
    try:
        ops.start_run(con, run_id, "tieout run" + (f" --only {only}" if only else ""))
    finally:
        con.close()
    return True


def _record_end(cfg: TieoutConfig, run_id: str, error: str | None) -> None:
    """Close the run's row: succeeded, or failed with its one-line error.  On the failure
    path a problem here is only logged: the run's own error is what must be reported."""
    import logging

    from tieout.warehouse import ops
    from tieout.warehouse.connection import open_ops

    try:
        con = open_ops(cfg.warehouse, cfg.warehouse_memory_limit)
        try:
            ops.finish_run(con, run_id, "failed" if error else "succeeded", error)
        finally:
            con.close()
    except Exception as exc:
        if error is None:
            raise
        logging.getLogger("tieout.run").warning("could not record that run %s failed: %s",
                                                run_id, exc)


def _run_stages(config: Path, cfg: TieoutConfig, only: str | None, extract_table: bool,
                progress: list[str], tags: Mapping[str, str]) -> list[str]:
    runs: list[str] = []
    if only in (None, "extract"):
        progress.append("extract")
        started = time.perf_counter()
        with console.status("extracting"):
            results = materialize_extract(config, tags)
        runs += [r.run_id for r in results]
        if extract_table:
            console.print(extract_summary(results, cfg.warehouse))
        console.print(stage_line("extract", _extracted(results), time.perf_counter() - started))
    if only in (None, "transform"):
        progress.append("transform")
        if not cfg.warehouse.is_file():
            raise TieoutError(f"warehouse {cfg.warehouse} does not exist: extract first "
                              f"(tieout run --config {config})")
        runs.append(_transform(config, tags))
    if only in (None, "journals"):
        progress.append("journals")
        runs += _journals(config, tags, explicit=only == "journals")
    if only in (None, "rules"):
        progress.append("rules")
        from .transform import materialize_rules

        started = time.perf_counter()
        with console.status("evaluating the rule checks"):
            result = materialize_rules(config, tags)
        runs.append(result.run_id)
        console.print(stage_line("rules", _checked(result), time.perf_counter() - started))
        console.print(f"[bold]{'review':<9}[/bold] {_reviewed(result)}")  # same run as rules
        print_exceptions(cfg)
    return runs


def _transform(config: Path, tags: Mapping[str, str]) -> str:
    from tieout.transform.manifest import ensure_manifest, is_current

    from .transform import materialize_dbt

    started = time.perf_counter()
    if not is_current():
        with console.status("parsing the dbt project (it changed since the last parse)"):
            ensure_manifest()
    with console.status("dbt build (models and tests)"):
        result = materialize_dbt(config, tags)
    console.print(stage_line("transform", _built(result), time.perf_counter() - started))
    return str(result.run_id)


def _journals(config: Path, tags: Mapping[str, str], *, explicit: bool) -> list[str]:
    from .postings import journals_line, materialize_journals, posting_enabled

    if not posting_enabled(config):
        if explicit:
            raise TieoutError(f"{config}: journal posting needs [sources.erp] in api mode")
        console.print(stage_line("journals", "skipped: the ERP is read from files, there is "
                                             "no API to post usage journals to", 0.0))
        return []
    started = time.perf_counter()
    with console.status("planning and posting usage journals"):
        result = materialize_journals(config, tags)
    console.print(stage_line("journals", journals_line(result), time.perf_counter() - started))
    return [str(result.run_id)]


def print_exceptions(cfg: TieoutConfig) -> None:
    """The exceptions by rule in reporting currency, and the in-transit line."""
    from tieout.register import in_transit_counts, open_register, rule_totals

    con = open_register(cfg.warehouse, cfg.path)
    try:
        totals, transit = rule_totals(con), in_transit_counts(con)
    finally:
        con.close()
    console.print(rule_summary(totals, cfg.reporting_currency, cfg.warehouse))
    console.print(in_transit_line(transit))


def _extracted(results: list[Any]) -> str:
    latest = {e.asset_key: e.materialization.metadata for r in results
              for e in r.get_asset_materialization_events()}
    landed = sum(int(md["landed"].value) for md in latest.values() if "landed" in md)
    quarantined = sum(int(md["quarantined"].value) for md in latest.values()
                      if "quarantined" in md)
    text = f"{landed:,} records landed in {len(latest)} raw tables"
    return text + (f", {quarantined:,} quarantined" if quarantined else "")


def _built(result: Any) -> str:
    models = len({e.asset_key for e in result.get_asset_materialization_events()})
    tests = result.get_asset_check_evaluations()
    passed = sum(1 for e in tests if e.passed)
    return f"dbt build: {models} models, {passed} of {len(tests)} tests passed"


def _reviewed(result: Any) -> str:
    """What the run changed in the review queue (ops/exception_review's metadata)."""
    md = {k: v.value for e in result.get_asset_materialization_events()
          for k, v in e.materialization.metadata.items()}
    if "new" not in md:
        return "review state not updated"
    return (f"{md['new']:,} new, {md['reopened']:,} reopened, {md['auto_resolved']:,} "
            f"auto-resolved; {md['open_or_investigating']:,} open or investigating")


def _checked(result: Any) -> str:
    checks = result.get_asset_check_evaluations()
    failed = [e for e in checks if not e.passed]
    errors = sum(1 for e in failed if e.severity.value == "ERROR")
    return (f"{len(failed)} of {len(checks)} rules found exceptions "
            f"({errors} error, {len(failed) - errors} warn)")


def run(
    config: Annotated[Path, typer.Option("--config", help="The tieout.toml to run with.")] = Path(
        "tieout.toml"),
    only: Annotated[str | None, typer.Option(
        help="Run one stage only: extract, transform (dbt build), journals or rules.")] = None,
    wait_lock: Annotated[float, typer.Option(
        "--wait-lock", min=0, metavar="SECONDS",
        help="If another run is writing the same warehouse, wait up to this long for it to "
             "finish (default: refuse at once).")] = 0.0,
) -> None:
    """Extract every source, build the dbt project, check every rule; summarise exceptions."""
    if only is not None and only not in STAGES:
        raise TieoutError(f"--only {only}: unknown stage; choose from {', '.join(STAGES)}")
    runs = run_stages(config, only, extract_table=only == "extract", wait_lock=wait_lock)
    console.print(f"Dagster runs {', '.join(runs)} (instance {os.environ['DAGSTER_HOME']})")
