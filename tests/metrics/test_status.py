"""``tieout status``: the last runs and metrics, and an exit code a monitor can trust."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tieout.cli.main import main
from tieout.config import TieoutConfig, load_config
from tieout.errors import InputError
from tieout.metrics import Metric
from tieout.metrics.store import write_metrics
from tieout.warehouse.connection import open_warehouse

NOW = dt.datetime.now(dt.UTC)
CONFIG = """[company]
accounting_timezone = "UTC"
reporting_currency = "USD"

[warehouse]
path = "w.duckdb"

[reconciliation]
grace_hours = 24

[reconciliation.absolute_tolerance]

[sources.billing]
mode = "files"
path = "billing"

[sources.usage]
mode = "files"
path = "usage"
"""
EXTRACTED = [
    Metric("http_requests", 12, "billing", "/v1/invoices"),
    Metric("pages_fetched", 10, "billing", "/v1/invoices"),
    Metric("retries", 2, "billing", "/v1/invoices"),
    Metric("errors", 2, "billing", "/v1/invoices", "429"),
    Metric("records_fetched", 950, "billing", "/v1/invoices", "billing/invoices"),
    Metric("latency_p50", 40.5, "billing", "/v1/invoices"),
    Metric("latency_p95", 250.0, "billing", "/v1/invoices"),
    Metric("records_received", 950, "billing", "billing/invoices"),
    Metric("records_quarantined", 3, "billing", "billing/invoices", "currency"),
    Metric("extract_seconds", 4.2, "billing"),
]


def _config(tmp_path: Path, extra: str = "") -> TieoutConfig:
    path = tmp_path / "tieout.toml"
    path.write_text(CONFIG + extra)
    return load_config(path)


def _run(cfg: TieoutConfig, run_id: str, *, minutes_ago: float, status: str = "succeeded",
         error: str | None = None, metrics: list[Metric] | None = None,
         stage: str = "extract") -> None:
    con = open_warehouse(cfg.warehouse)
    try:
        started = NOW - dt.timedelta(minutes=minutes_ago)
        con.execute("INSERT INTO ops.runs VALUES (?, ?, ?, ?, 'tieout run', ?, NULL)",
                    [run_id, started, None if status == "running" else
                     started + dt.timedelta(seconds=90), status, error])
        if metrics:
            write_metrics(con, run_id, stage, metrics)
    finally:
        con.close()


def _landed(cfg: TieoutConfig, source: str, hours_ago: float) -> None:
    con = open_warehouse(cfg.warehouse)
    try:
        con.execute("INSERT INTO ops.batches VALUES (?, 'r', ?, 'o', 'files', 1, 1, 0, 1, 0, ?)",
                    [f"b-{source}-{hours_ago}", f"{source}/invoices",
                     NOW - dt.timedelta(hours=hours_ago)])
    finally:
        con.close()


def _status(cfg: TieoutConfig, capsys: pytest.CaptureFixture[str], *args: str
            ) -> tuple[int, str]:
    code = main(["status", "--config", str(cfg.path), *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out


def test_healthy_warehouse_exits_zero_and_shows_the_last_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path)
    _run(cfg, "run-old", minutes_ago=120, status="failed", error="billing 503")
    _run(cfg, "run-new", minutes_ago=10, metrics=EXTRACTED)
    _landed(cfg, "billing", hours_ago=1)
    code, out = _status(cfg, capsys)
    assert code == 0, out
    assert "run-new" in out and "run-old" in out and out.index("run-new") < out.index("run-old")
    assert "/v1/invoices" in out and "429:2" in out and "250.0" in out
    assert "3 quarantined (currency 3)" in out
    assert "healthy" in out.splitlines()[-1]


def test_a_failed_last_run_exits_one_with_its_error(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path)
    _landed(cfg, "billing", hours_ago=1)
    _run(cfg, "run-good", minutes_ago=60, metrics=EXTRACTED)
    _run(cfg, "run-bad", minutes_ago=5, status="failed",
         error="billing GET /v1/invoices failed after 8 attempts: HTTP 503")
    code, out = _status(cfg, capsys)
    assert code == 1
    assert "UNHEALTHY (last_run): run run-bad failed: billing GET /v1/invoices" in out


def test_a_run_that_never_finished_is_a_failure(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path)
    _landed(cfg, "billing", hours_ago=1)
    _run(cfg, "run-killed", minutes_ago=30, status="running")  # no process holds the lock
    code, out = _status(cfg, capsys)
    assert code == 1 and "run run-killed started" in out and "never finished" in out


def test_posting_success_rate_below_the_threshold_exits_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, '\n[monitoring]\nmin_posting_success_rate = "0.95"\n')
    _landed(cfg, "billing", hours_ago=1)
    where = ("erp", "/services/rest/record/v1/journalentry")
    _run(cfg, "run-posting", minutes_ago=30, stage="journals",
         metrics=[Metric("posting_success_rate", 0.9, *where),
                  Metric("journal_batches_posted", 9, *where, "created")])
    _run(cfg, "run-rules", minutes_ago=5)  # a later run without posting does not hide it
    code, out = _status(cfg, capsys)
    assert code == 1
    assert ("posting success rate 90.00% in run run-posting is below [monitoring] "
            "min_posting_success_rate 0.95") in " ".join(out.split())
    _run(cfg, "run-posting-ok", minutes_ago=1, stage="journals",
         metrics=[Metric("posting_success_rate", 0.96, *where)])
    assert _status(cfg, capsys)[0] == 0


def test_optional_thresholds_and_stale_sources(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, "\n[monitoring]\nmax_quarantined = 2\nmax_latency_p95_ms = 200\n"
                            "\n[orchestration]\nsource_freshness_hours = 6\n")
    _run(cfg, "run-1", minutes_ago=5, metrics=EXTRACTED)
    _landed(cfg, "billing", hours_ago=7)
    code, out = _status(cfg, capsys, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["healthy"] is False and report["exit_code"] == 1
    assert [b["check"] for b in report["breaches"]] == ["quarantined", "latency_p95",
                                                        "freshness"]
    assert "billing last landed 7.0 hours ago" in report["breaches"][2]["message"]
    assert report["runs"][0]["run_id"] == "run-1"
    assert {m["metric"] for m in report["last_run_metrics"]} >= {"latency_p95", "errors"}
    assert "usage" not in report["sources_last_landed"]  # usage lands only new files


def test_no_run_at_all_is_unhealthy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path)
    open_warehouse(cfg.warehouse).close()
    code, out = _status(cfg, capsys)
    assert code == 1 and "no run recorded" in out and "billing has never landed" in out


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("tieout: error: ") and "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize(("extra", "args", "needle", "code"), [
    ("", ["--runs", "0"], "'--runs'", 2),
    ("", ["--format", "xml"], "'--format'", 2),
    ('\n[monitoring]\nmin_posting_success_rate = "1.5"\n', [],
     "monitoring.min_posting_success_rate: is a fraction", 2),
    ("\n[monitoring]\nmin_posting_success_rate = 0.99\n", [],
     "monitoring.min_posting_success_rate: write money and rates as strings", 2),
    ("\n[monitoring]\nmax_quarantined = -1\n", [], "monitoring.max_quarantined", 2),
    ("", [], "does not exist", 1),  # no warehouse yet: nothing created
])
def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str,
                               args: list[str], needle: str, code: int) -> None:
    path = tmp_path / "tieout.toml"
    path.write_text(CONFIG + extra)
    assert main(["status", "--config", str(path), *args]) == code
    line = _one_error_line(capsys)
    assert needle in line
    if "monitoring" in needle:
        assert str(path) in line
    assert not (tmp_path / "w.duckdb").exists()


def test_status_is_listed_with_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--help"]) == 0
    assert "--runs" in capsys.readouterr().out


def test_monitoring_configuration(tmp_path: Path) -> None:
    path = tmp_path / "tieout.toml"
    path.write_text(CONFIG)
    defaults = load_config(path).monitoring
    assert str(defaults.min_posting_success_rate) == "0.99"
    assert defaults.max_quarantined is None and defaults.max_latency_p95_ms is None
    path.write_text(CONFIG + '\n[monitoring]\nmin_posting_success_rate = "0.9"\n'
                    "max_quarantined = 0\nmax_latency_p95_ms = 1500\n")
    chosen = load_config(path).monitoring
    assert (str(chosen.min_posting_success_rate), chosen.max_quarantined,
            chosen.max_latency_p95_ms) == ("0.9", 0, 1500)
    path.write_text(CONFIG + "\n[monitoring]\nmax_latency_p95_ms = 0\n")
    with pytest.raises(InputError, match=r"monitoring\.max_latency_p95_ms: must be at least 1"):
        load_config(path)
