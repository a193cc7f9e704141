"""When tieout runs on its own: the nightly schedule, the usage-file sensor, failure alerts.

The nightly reconciliation fires at ``orchestration.nightly_at`` in the company's accounting
time zone (read from ``TIEOUT_CONFIG`` when the definitions load; 02:00 UTC without one).
Dagster evaluates the cron in that zone, so a daylight-saving change moves the UTC time, not
the local one; on the spring-forward night a time that does not exist fires at the first
valid minute after it, and on the fall-back night it fires once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from tieout.alerts import FailureAlert, send_failure_alert
from tieout.config import load_config

from .jobs import reconcile_job, usage_job
from .resources import TieoutSettings

DEFAULT_AT = dt.time(2, 0)


DEFAULT_FRESHNESS_HOURS = 26


def nightly_settings() -> tuple[dt.time, str, int]:
    """(local time, accounting time zone, source freshness hours) from ``TIEOUT_CONFIG``;
    02:00 UTC and 26 hours without one."""
    path = os.environ.get("TIEOUT_CONFIG", "").strip()
    if not path or not Path(path).is_file():
        return DEFAULT_AT, "UTC", DEFAULT_FRESHNESS_HOURS
    cfg = load_config(Path(path))
    return (cfg.orchestration.nightly_at, cfg.accounting_timezone,
            cfg.orchestration.source_freshness_hours)


def source_freshness_checks(assets: list[dg.AssetsDefinition],
                            hours: int) -> list[dg.AssetChecksDefinition]:
    """A warning on each raw source not landed within ``hours`` (a stuck extraction or a
    source that stopped sending), evaluated by ``freshness_sensor``."""
    with warnings.catch_warnings():  # superseded by FreshnessPolicy, still in preview
        warnings.simplefilter("ignore")
        return list(dg.build_last_update_freshness_checks(
            assets=assets, lower_bound_delta=dt.timedelta(hours=hours),
            severity=dg.AssetCheckSeverity.WARN))


def nightly_schedule(at: dt.time, timezone: str) -> dg.ScheduleDefinition:
    """The full reconciliation (extract, dbt build, rules, review, snapshot) once a day."""
    return dg.ScheduleDefinition(
        name="nightly_reconciliation", job=reconcile_job,
        cron_schedule=f"{at.minute} {at.hour} * * *", execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Every day at {at:%H:%M} {timezone} (the accounting time zone): extract, "
                    "dbt build, rule checks, review state and the analysts' snapshot.")


def _file_state(folder: Path) -> dict[str, str]:
    from tieout.extract.plan import usage_files

    state = {}
    for path in usage_files(folder):
        stat = path.stat()
        state[str(path.relative_to(folder))] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return state


@dg.sensor(job=usage_job, minimum_interval_seconds=300,
           default_status=dg.DefaultSensorStatus.STOPPED,
           description="Looks for new or changed usage files (usage/date=YYYY-MM-DD/) and "
                       "lands each day that has one; the file manifest in ops keeps every file "
                       "landed once.")
def usage_files_sensor(context: dg.SensorEvaluationContext,
                       tieout: TieoutSettings) -> Iterator[dg.RunRequest | dg.SkipReason]:
    """One run per day partition with a file this sensor has not seen (by size and mtime)."""
    cfg = tieout.load()
    usage = cfg.sources.get("usage")
    if usage is None or usage.path is None or not usage.path.is_dir():
        yield dg.SkipReason("no usage folder configured")
        return
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    state = _file_state(usage.path)
    changed = sorted(name for name, stamp in state.items() if seen.get(name) != stamp)
    if not changed:
        yield dg.SkipReason("no new usage files")
        return
    days = sorted({Path(name).parent.name.removeprefix("date=") for name in changed})
    for day in days:
        files = [n for n in changed if Path(n).parent.name == f"date={day}"]
        digest = hashlib.sha256("\n".join(f"{n}={state[n]}" for n in files).encode())
        yield dg.RunRequest(run_key=f"usage-{day}-{digest.hexdigest()[:12]}",
                            partition_key=day, tags={"tieout/new_files": str(len(files))})
    context.update_cursor(json.dumps(state, sort_keys=True))


@dg.run_failure_sensor(name="alert_on_failure", minimum_interval_seconds=30,
                       default_status=dg.DefaultSensorStatus.STOPPED,
                       description="POSTs the failed run, step and error to the webhook in "
                                   "TIEOUT_ALERT_WEBHOOK (secrets scrubbed).")
def alert_on_failure(context: dg.RunFailureSensorContext) -> None:
    """Forward a failed run to the webhook (a no-op when it is not configured)."""
    steps = [e.step_key for e in context.get_step_failure_events() if e.step_key]
    error = context.failure_event.message or "run failed"
    if context.get_step_failure_events():
        first = context.get_step_failure_events()[0]
        data = first.step_failure_data
        info = data.error if data else None
        while info is not None and info.cause is not None:  # the user's error, not Dagster's
            info = info.cause
        if info is not None:
            error = info.message
    send_failure_alert(FailureAlert(run_id=context.dagster_run.run_id,
                                    job=context.dagster_run.job_name,
                                    failed_step=steps[0] if steps else None,
                                    error=" ".join(error.split()), where="dagster"))
