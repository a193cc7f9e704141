"""The close report's "Operating metrics" section: charts over runs and the last extraction's
endpoints, from ``ops.run_metrics``; a run that did not measure a figure has no point."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.review.world import T0, make_world
from tieout.config import load_config
from tieout.metrics import Metric
from tieout.metrics.store import write_metrics
from tieout.report import gather, render_html
from tieout.warehouse.connection import open_read_only

JOURNALS = ("erp", "/services/rest/record/v1/journalentry")


def _extraction(records: int, p95: float, retries: int) -> list[Metric]:
    return [Metric("http_requests", records // 10 + retries, "billing", "/v1/invoices"),
            Metric("pages_fetched", records // 10, "billing", "/v1/invoices"),
            Metric("records_fetched", records, "billing", "/v1/invoices", "billing/invoices"),
            Metric("retries", retries, "billing", "/v1/invoices"),
            Metric("errors", retries, "billing", "/v1/invoices", "503"),
            Metric("latency_p50", p95 / 4, "billing", "/v1/invoices"),
            Metric("latency_p95", p95, "billing", "/v1/invoices"),
            Metric("records_received", records, "billing", "billing/invoices"),
            Metric("records_quarantined", 2, "billing", "billing/invoices", "currency")]


def _section(html: str) -> str:
    match = re.search(r'<section id="operations".*?</section>', html, re.S)
    assert match, "no operating metrics section"
    return match.group(0)


def test_the_section_charts_the_runs_and_lists_the_last_endpoints(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w")
    with world.connect() as con:
        write_metrics(con, "run-a", "extract", _extraction(1200, 180.0, 3),
                      now=T0 + dt.timedelta(days=1))
        write_metrics(con, "run-a", "journals", [Metric("posting_success_rate", 0.75,
                                                        *JOURNALS)],
                      now=T0 + dt.timedelta(days=1))
        write_metrics(con, "run-b", "review", [Metric("exceptions_new", 4,
                                                      dimension="AMOUNT_MISMATCH|error")],
                      now=T0 + dt.timedelta(days=2))
        write_metrics(con, "run-c", "extract", _extraction(1500, 90.5, 0),
                      now=T0 + dt.timedelta(days=3))
    con = open_read_only(world.warehouse)
    try:
        data = gather(con, load_config(world.config), "2025-12", now=T0 + dt.timedelta(days=4))
    finally:
        con.close()
    assert data.operations is not None
    assert [r.run_id for r in data.operations.runs] == ["run-a", "run-b", "run-c"]
    run_b = data.operations.runs[1]
    assert run_b.records is None and run_b.quarantined is None  # it did not extract
    assert data.operations.last_extract_run == "run-c"
    section = _section(render_html(data))
    assert "Operating metrics" in section
    svgs = {svg.get("id"): svg for svg in (ET.fromstring(s) for s in re.findall(
        r"<svg.*?</svg>", section, re.S))}
    assert set(svgs) == {"chart-ops-records", "chart-ops-latency", "chart-ops-retries",
                         "chart-ops-posting", "chart-ops-quarantined"}
    desc = {key: svg.find("desc").text for key, svg in svgs.items()}  # type: ignore[union-attr]
    assert "1,200 records" in desc["chart-ops-records"]
    assert "1,500 records" in desc["chart-ops-records"]
    assert desc["chart-ops-records"].count("records") == 2  # run-b has no point
    assert "180.0 ms" in desc["chart-ops-latency"]
    assert "3 retries, 3 errors" in desc["chart-ops-retries"]
    assert "75.00%" in desc["chart-ops-posting"]
    assert "2 quarantined" in desc["chart-ops-quarantined"]
    rows = re.findall(r"<tr.*?</tr>", section.split("<tbody>", 1)[1], re.S)
    assert len(rows) == 1 and "/v1/invoices" in rows[0] and "90.5" in rows[0]
    assert "run-c" in section


def test_without_metrics_the_section_says_so(tmp_path: Path) -> None:
    world = make_world(tmp_path / "w")
    con = open_read_only(world.warehouse)
    try:
        data = gather(con, load_config(world.config), "2025-12", now=T0)
    finally:
        con.close()
    assert data.operations is not None and data.operations.runs == ()
    assert "No operating metrics recorded yet" in _section(render_html(data))
