"""Orchestration: the nightly schedule in the accounting time zone, the usage-file sensor,
and failure alerts delivered to a loopback webhook without secrets."""

from __future__ import annotations

import datetime as dt
import http.server
import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from pipelines.orchestration import (
    alert_on_failure,
    nightly_schedule,
    nightly_settings,
    usage_files_sensor,
)
from pipelines.resources import TieoutSettings
from tieout.alerts import FailureAlert, send_failure_alert
from tieout.cli.main import main
from tieout.config import load_config
from tieout.errors import InputError

CONFIG = """[company]
accounting_timezone = "America/New_York"
reporting_currency = "USD"
[reconciliation]
grace_hours = 24
[reconciliation.absolute_tolerance]
[orchestration]
nightly_at = "{at}"
[sources.usage]
mode = "files"
path = "usage"
"""


def _config(tmp_path: Path, at: str = "02:30") -> Path:
    path = tmp_path / "tieout.toml"
    path.write_text(CONFIG.format(at=at))
    (tmp_path / "usage").mkdir(exist_ok=True)
    return path


def _ticks(schedule: dg.ScheduleDefinition, start: dt.datetime, count: int) -> list[dt.datetime]:
    assert schedule.execution_timezone is not None
    return list(itertools.islice(cron_string_iterator(
        start.timestamp(), schedule.cron_schedule, schedule.execution_timezone), count))


def test_nightly_schedule_fires_at_local_time_across_daylight_saving(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIEOUT_CONFIG", str(_config(tmp_path)))
    at, timezone, _hours = nightly_settings()
    schedule = nightly_schedule(at, timezone)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 2 * * *",
                                                                     "America/New_York")
    # spring forward (2026-03-08: 02:00-03:00 does not exist) and fall back (2026-11-01)
    spring = _ticks(schedule, dt.datetime(2026, 3, 6, tzinfo=dt.UTC), 4)
    assert [(t.date().isoformat(), t.strftime("%H:%M")) for t in spring] == [
        ("2026-03-06", "02:30"), ("2026-03-07", "02:30"), ("2026-03-08", "03:00"),
        ("2026-03-09", "02:30")]
    assert [t.astimezone(dt.UTC).hour for t in spring] == [7, 7, 7, 6]
    autumn = _ticks(schedule, dt.datetime(2026, 10, 30, tzinfo=dt.UTC), 4)
    assert [t.strftime("%m-%d %H:%M") for t in autumn] == ["10-30 02:30", "10-31 02:30",
                                                          "11-01 02:30", "11-02 02:30"]
    assert [t.astimezone(dt.UTC).hour for t in autumn] == [6, 6, 7, 7]  # once a day, always


def test_a_time_in_the_repeated_hour_fires_once(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIEOUT_CONFIG", str(_config(tmp_path, "01:30")))
    schedule = nightly_schedule(*nightly_settings()[:2])
    ticks = _ticks(schedule, dt.datetime(2026, 10, 31, 12, tzinfo=dt.UTC), 3)
    assert [t.date().isoformat() for t in ticks] == ["2026-11-01", "2026-11-02", "2026-11-03"]


def test_without_a_config_the_nightly_run_is_2am_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIEOUT_CONFIG", raising=False)
    assert nightly_settings() == (dt.time(2, 0), "UTC", 26)


@pytest.mark.parametrize("at", ["25:00", "2:30pm", "02:30:15", ""])
def test_bad_nightly_time_names_the_field(tmp_path: Path, at: str) -> None:
    with pytest.raises(InputError, match=r"orchestration\.nightly_at"):
        load_config(_config(tmp_path, at))


def _write(folder: Path, day: str, name: str, text: str = "x") -> None:
    path = folder / f"date={day}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _evaluate(config: Path, cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
    context = dg.build_sensor_context(cursor=cursor,
                                      resources={"tieout": TieoutSettings(
                                          config_path=str(config))})
    result = list(usage_files_sensor(context))
    return [r for r in result if isinstance(r, dg.RunRequest)], context.cursor


def test_usage_sensor_requests_each_day_with_new_files_once(tmp_path: Path) -> None:
    config = _config(tmp_path)
    usage = tmp_path / "usage"
    requests, cursor = _evaluate(config, None)
    assert requests == []
    _write(usage, "2026-01-05", "a.parquet")
    _write(usage, "2026-01-06", "b.parquet")
    requests, cursor = _evaluate(config, cursor)
    assert sorted(r.partition_key for r in requests) == ["2026-01-05", "2026-01-06"]
    again, cursor = _evaluate(config, cursor)
    assert again == []  # nothing new: no run
    _write(usage, "2026-01-05", "late.parquet")  # a late file for an old day
    late, cursor = _evaluate(config, cursor)
    assert [r.partition_key for r in late] == ["2026-01-05"]
    assert late[0].run_key != requests[0].run_key


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    """A loopback webhook on a free port, stopped after the test."""
    _Receiver.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TIEOUT_ALERT_WEBHOOK",
                       f"http://127.0.0.1:{server.server_port}/hook/s3cr3t-hook-token")
    monkeypatch.setenv("TIEOUT_BILLING_TOKEN", "sk_live_abcdef123456")
    try:
        yield _Receiver.received
    finally:
        server.shutdown()
        server.server_close()


def test_alert_carries_run_step_and_error_without_secrets(webhook: list[dict]) -> None:
    assert send_failure_alert(FailureAlert(
        run_id="r1", job="reconcile", failed_step="raw_billing",
        error="401 from billing with Authorization: Bearer sk_live_abcdef123456",
        where="dagster"))
    [payload] = webhook
    assert (payload["run_id"], payload["failed_step"]) == ("r1", "raw_billing")
    assert "401 from billing" in payload["error"]
    assert "sk_live_abcdef123456" not in json.dumps(payload)
    assert "s3cr3t-hook-token" not in json.dumps(payload)


def test_unreachable_webhook_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIEOUT_ALERT_WEBHOOK", "http://127.0.0.1:9/none")
    assert send_failure_alert(FailureAlert("r", "j", None, "e", "cli")) is False


def test_failure_sensor_reports_a_failed_dagster_run(webhook: list[dict]) -> None:
    @dg.asset(name="raw_billing_probe")
    def failing() -> None:
        raise RuntimeError("billing API down, token sk_live_abcdef123456")

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([failing], instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_failure", dagster_event=failure, dagster_instance=instance,
        dagster_run=result.dagster_run).for_run_failure()
    alert_on_failure(context)
    [payload] = webhook
    assert payload["run_id"] == result.run_id and payload["where"] == "dagster"
    assert payload["failed_step"] == "raw_billing_probe"
    assert "billing API down" in payload["error"]
    assert "sk_live_abcdef123456" not in json.dumps(payload)


def test_a_failed_cli_run_alerts_with_its_stage(tmp_path: Path, webhook: list[dict],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    (tmp_path / "usage").rmdir()  # the usage folder is gone: extraction fails
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    assert main(["run", "--config", str(config), "--only", "extract"]) != 0
    [payload] = webhook
    assert (payload["where"], payload["failed_step"]) == ("cli", "extract")
    assert "usage" in payload["error"]


def test_a_source_not_landed_within_its_window_is_a_warning() -> None:
    """The freshness check warns until the raw asset lands, then passes."""
    from pipelines.orchestration import source_freshness_checks

    @dg.asset(key=["raw", "billing", "invoices_probe"])
    def landed() -> None:
        return None

    [check] = source_freshness_checks([landed], hours=26)
    instance = dg.DagsterInstance.ephemeral()

    def evaluate() -> dg.AssetCheckEvaluation:
        result = dg.materialize([landed, check], instance=instance,
                                selection=dg.AssetSelection.checks(check))
        [evaluation] = result.get_asset_check_evaluations()
        return evaluation

    stale = evaluate()
    assert not stale.passed and stale.severity is dg.AssetCheckSeverity.WARN
    dg.materialize([landed], instance=instance)
    assert evaluate().passed
