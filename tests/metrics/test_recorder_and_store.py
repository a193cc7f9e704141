"""The pieces behind the operating metrics: endpoint names, the recorder fed by HttpClient,
how a retried step's rows combine, the quarantine reasons, old warehouses."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from checks.gate import gate
from tests.connectors.helpers import Reply, StubServer
from tieout.connectors.http import HttpClient
from tieout.extract.batch import Batch, loose_frame
from tieout.extract.runner import first_checks
from tieout.metrics import HttpRecorder, Metric
from tieout.metrics.recorder import endpoint_of, percentile
from tieout.metrics.store import write_metrics
from tieout.warehouse.connection import open_warehouse


@pytest.mark.parametrize(("path", "endpoint"), [
    ("/v1/invoices", "/v1/invoices"),
    ("/v1/invoices/in_000123/lines", "/v1/invoices/{id}/lines"),
    ("/services/rest/record/v1/journalentry/eid:usage:US01:USD:20251230T0000Z:60m:v1",
     "/services/rest/record/v1/journalentry/{id}"),
    ("/api/v2/organizations?page[after]=abc&token=s3cret", "/api/v2/organizations"),
    ("/v1/customers#frag", "/v1/customers"),
])
def test_endpoints_have_no_ids_and_no_query(path: str, endpoint: str) -> None:
    assert endpoint_of(path) == endpoint


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.5) == 10.0 and percentile(values, 0.95) == 19.0
    assert percentile([7.0], 0.95) == 7.0 and percentile([], 0.5) is None


def test_the_client_reports_every_attempt_to_its_recorder() -> None:
    stub = StubServer([Reply(429, {"error": {"message": "slow down"}},
                             headers={"Retry-After": "0"}),
                       Reply(503, {}), Reply(200, {"data": []})])
    recorder = HttpRecorder()
    try:
        client = HttpClient("billing", stub.url, {"Authorization": "Bearer tok-123456789"},
                            sleep=lambda _: None, recorder=recorder)
        client.get_json("/v1/invoices/in_42/lines", {"limit": 10})
        client.count_records("billing/invoice_lines", 7)
        client.count_duplicates(2)
    finally:
        stub.stop()
    [(key, stats)] = recorder.endpoints().items()
    assert key == ("billing", "/v1/invoices/{id}/lines")
    assert (stats.requests, stats.pages, stats.retries) == (3, 1, 2)
    assert dict(stats.errors) == {"429": 1, "503": 1}
    assert dict(stats.records) == {"billing/invoice_lines": 7} and stats.duplicates == 2
    assert client.stats.requests == 3 and client.stats.duplicates_suppressed == 2  # kept too
    rows = {(m.metric, m.dimension): m.value for m in recorder.metrics()}
    assert rows[("errors", "429")] == 1 and rows[("records_fetched",
                                                   "billing/invoice_lines")] == 7
    assert rows[("duplicates_suppressed", "connector")] == 2
    assert "tok-123456789" not in repr(recorder.metrics())


def test_a_retried_step_adds_counts_and_replaces_percentiles(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "w.duckdb")
    first = [Metric("retries", 3, "billing", "/v1/invoices"),
             Metric("latency_p95", 900.0, "billing", "/v1/invoices")]
    write_metrics(con, "run-1", "extract", first)
    write_metrics(con, "run-2", "extract", first)
    write_metrics(con, "run-1", "extract", [Metric("retries", 1, "billing", "/v1/invoices"),
                                            Metric("latency_p95", 120.0, "billing",
                                                   "/v1/invoices")])
    rows = con.execute("SELECT run_id, metric, value, unit FROM ops.run_metrics ORDER BY ALL"
                       ).fetchall()
    assert rows == [("run-1", "latency_p95", 120.0, "ms"), ("run-1", "retries", 4.0, "retries"),
                    ("run-2", "latency_p95", 900.0, "ms"), ("run-2", "retries", 3.0, "retries")]
    with pytest.raises(ValueError, match="unknown metric"):
        Metric("retry_count", 1)
    con.close()


def test_a_record_counts_once_under_its_first_failed_check() -> None:
    records = [{"id": "1", "name": "A", "support_tier": "platinum", "entitlement_status": "x",
                "valid_from": "2025-01-01", "created_at": "2025-01-01T00:00:00Z",
                "updated_at": "2025-01-01T00:00:00Z"},
               {"id": "2", "name": "B", "support_tier": "standard",
                "entitlement_status": "active", "valid_from": "2025-01-01",
                "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"}]
    result = gate(Batch("support/organizations", loose_frame("support/organizations", records),
                        "test"))
    assert result.quarantine.height == 2 and result.quarantined == 1  # two checks, one record
    assert first_checks(result.quarantine) == {"enum": 1}
    assert first_checks(pl.DataFrame()) == {}


def test_old_warehouses_gain_the_table_and_column(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA ops")
        con.execute("CREATE TABLE ops.runs (run_id VARCHAR PRIMARY KEY, started_at "
                    "TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, status VARCHAR NOT NULL, "
                    "scope VARCHAR, error VARCHAR)")
        con.execute("INSERT INTO ops.runs VALUES ('r0', now(), now(), 'succeeded', 'x', NULL)")
    con = open_warehouse(path)
    assert con.execute("SELECT run_id, parent_run_id FROM ops.runs").fetchall() == [("r0", None)]
    assert con.execute("SELECT count(*) FROM ops.run_metrics").fetchall() == [(0,)]
    con.close()
