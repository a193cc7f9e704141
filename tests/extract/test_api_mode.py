"""API mode against the sandbox: same tables as files mode, under faults, incrementally."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
import requests

from seeds.generator import CompanySummary
from seeds.generator.writer import write_config
from seeds.sandbox import SandboxServer, SandboxTokens
from seeds.tables import KEYS, SCHEMAS, conform
from tieout.config import TieoutConfig, load_config
from tieout.errors import TieoutError
from tieout.extract.service import run_extraction
from tieout.warehouse.connection import open_warehouse
from tieout.warehouse.schema import VERSION_COLUMN

from .test_files_mode import assert_lands_exactly, raw_frame

TOKENS = SandboxTokens(billing="sk_test_SECRET-billing-7d1f", erp="erp-SECRET-3c9a",
                       revrec="rr-SECRET-aa04", support="zd-SECRET-51c2")
TOKEN_MAP = {"billing": TOKENS.billing, "erp": TOKENS.erp, "revrec": TOKENS.revrec,
             "support": TOKENS.support}
API_SOURCES = ["billing", "erp", "revrec", "support"]
API_TABLES = [t for t in SCHEMAS if t.split("/")[0] in API_SOURCES]
FAST = {"sleep": lambda seconds: None}  # retries without real waiting


def api_config(files_config: TieoutConfig, url: str, name: str = "tieout-api.toml",
               warehouse: str = "api.duckdb") -> TieoutConfig:
    return load_config(write_config(files_config.root, seed=21, invoices=600, mode="api",
                                    base_url=url, name=name, warehouse=warehouse))


@pytest.fixture
def sandbox(files_config: TieoutConfig) -> Iterator[SandboxServer]:
    with SandboxServer(files_config.root, tokens=TOKENS) as server:
        yield server


def test_api_mode_lands_what_the_generator_wrote(files_config: TieoutConfig,
                                                 sandbox: SandboxServer) -> None:
    cfg = api_config(files_config, sandbox.url)
    con = open_warehouse(cfg.warehouse)
    report = run_extraction(con, cfg, API_SOURCES, tokens=TOKEN_MAP)
    assert report.received > 0 and all(t.quarantined == 0 for t in report.tables.values())
    for table in API_TABLES:
        expected = conform(table, pl.read_parquet(files_config.root / f"{table}.parquet"))
        assert conform(table, raw_frame(con, table)).equals(
            expected.sort(list(KEYS[table]))), table
    marks = dict(con.execute("SELECT source || '/' || entity, value FROM ops.watermarks"
                             ).fetchall())
    assert set(marks) == {f"{t.split('/')[0]}/{t.split('/')[1]}" for t in
                          ("billing/customers", "billing/subscriptions", "billing/invoices",
                           "billing/credit_notes", "billing/products", "billing/prices",
                           *(t for t in API_TABLES if t.startswith("erp/")),
                           "revrec/revenue_schedules", "support/organizations",
                           "support/service_credits")}


def test_files_and_api_land_identical_support_tables(files_config: TieoutConfig,
                                                     sandbox: SandboxServer) -> None:
    """The same support platform read as exports and through its API: equal raw tables
    (every contract column, values and types), nothing quarantined on either side."""
    files_con = open_warehouse(files_config.warehouse)
    from_files = run_extraction(files_con, files_config, ["support"])
    api_con = open_warehouse(api_config(files_config, sandbox.url).warehouse)
    from_api = run_extraction(api_con, api_config(files_config, sandbox.url), ["support"],
                              tokens=TOKEN_MAP, client_options={"page_size": 7})
    for table in ("support/organizations", "support/service_credits"):
        assert from_files.tables[table].landed == from_api.tables[table].landed > 0, table
        assert from_files.tables[table].quarantined == from_api.tables[table].quarantined == 0
        assert raw_frame(files_con, table).equals(raw_frame(api_con, table)), table
    assert sandbox.request_counts["support.organizations"] > 2  # several cursor pages


def _business(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    version = VERSION_COLUMN.get(table)
    return conform(table, raw_frame(con, table)).drop([version] if version else [])


@pytest.mark.slow
def test_every_fault_kind_ends_with_the_same_raw_tables(files_config: TieoutConfig,
                                                        small_company: CompanySummary) -> None:
    clean_con = open_warehouse(files_config.root / "clean.duckdb")
    with SandboxServer(files_config.root, tokens=TOKENS) as clean_server:
        run_extraction(clean_con, api_config(files_config, clean_server.url, "clean.toml",
                                             "clean.duckdb"), API_SOURCES, tokens=TOKEN_MAP)
    spec = ("*:429=0.1,*:500=0.05,*:503=0.1,*:drop=0.05,*:slow=0.1,billing.*:duplicate=0.2,"
            "revrec.*:duplicate=0.2,support.*:duplicate=0.2,billing.*:mutate=0.1,"
            "revrec.*:mutate=0.1,support.*:mutate=0.1,slow_ms=20,retry_after=0")
    with SandboxServer(files_config.root, tokens=TOKENS, faults=spec, seed=5) as faulty:
        cfg = api_config(files_config, faulty.url, "faulty.toml", "faulty.duckdb")
        con = open_warehouse(cfg.warehouse)
        run_extraction(con, cfg, API_SOURCES, tokens=TOKEN_MAP,
                       client_options={**FAST, "page_size": 25})
        kinds = {kind for (_endpoint, kind) in faulty.fault_counts}
        systems = {endpoint.split(".")[0] for (endpoint, _kind) in faulty.fault_counts}
    assert kinds >= {"429", "500", "503", "drop", "slow", "duplicate", "mutate"}
    assert systems == set(API_SOURCES)
    for table in API_TABLES:
        assert _business(con, table).equals(_business(clean_con, table)), table
        version = VERSION_COLUMN.get(table)
        if version:  # a record changed mid-run only moves its version forward
            both = raw_frame(con, table).join(raw_frame(clean_con, table), on=list(KEYS[table]))
            assert both.filter(pl.col(version) < pl.col(f"{version}_right")).is_empty(), table


def _stamp(path: Path, ids: list[str], **changes: object) -> None:
    frame = pl.read_parquet(path)
    frame = frame.with_columns([pl.when(pl.col("id").is_in(ids)).then(pl.lit(v)).otherwise(
        pl.col(k)).cast(frame.schema[k]).alias(k) for k, v in changes.items()])
    frame.write_parquet(path)


def test_incremental_run_fetches_only_what_changed(files_config: TieoutConfig) -> None:
    root = files_config.root
    small_pages = {"page_size": 25}
    with SandboxServer(root, tokens=TOKENS) as first:
        cfg = api_config(files_config, first.url)
        con = open_warehouse(cfg.warehouse)
        full = run_extraction(con, cfg, API_SOURCES, tokens=TOKEN_MAP,
                              client_options=small_pages)
        full_requests = sum(first.request_counts.values())
    now = dt.datetime.now(dt.UTC)
    invoices = pl.read_parquet(root / "billing/invoices.parquet")
    voided = invoices.filter(pl.col("status") == "open")["id"].head(3).to_list()
    _stamp(root / "billing/invoices.parquet", voided, status="void",
           voided_at=int(now.timestamp()), updated=int(now.timestamp()))
    customers = pl.read_parquet(root / "billing/customers.parquet")["id"].head(2).to_list()
    _stamp(root / "billing/customers.parquet", customers, email="changed@example.com",
           updated=int(now.timestamp()))
    schedules = pl.read_parquet(root / "revrec/revenue_schedules.parquet")["id"].head(2).to_list()
    _stamp(root / "revrec/revenue_schedules.parquet", schedules, status="cancelled",
           updated_at=now)
    orgs = pl.read_parquet(root / "support/organizations.parquet")["id"].head(2).to_list()
    _stamp(root / "support/organizations.parquet", orgs, sla_policy="enterprise_1h",
           updated_at=now)
    epoch = int(now.timestamp())
    new_invoice = invoices.head(1).with_columns(id=pl.lit("in_new_000001"),
                                                created=pl.lit(epoch, pl.Int64),
                                                updated=pl.lit(epoch, pl.Int64))
    pl.concat([invoices.filter(~pl.col("id").is_in(voided)), new_invoice,
               pl.read_parquet(root / "billing/invoices.parquet").filter(
                   pl.col("id").is_in(voided))]).write_parquet(root / "billing/invoices.parquet")
    with SandboxServer(root, tokens=TOKENS) as second:
        journal = {"externalId": "incremental-test-1", "subsidiary": {"id": "1"},
                   "currency": {"id": "1"}, "tranDate": "2026-01-15", "memo": "new entry",
                   "line": {"items": [{"account": {"id": "3"}, "debit": "10.00"},
                                      {"account": {"id": "7"}, "credit": "10.00"}]}}
        posted = requests.post(f"{second.url}/services/rest/record/v1/journalentry",
                               json=journal, headers={"Authorization": f"Bearer {TOKENS.erp}"},
                               timeout=10)
        assert posted.status_code == 204, posted.text
        cfg = api_config(files_config, second.url)
        report = run_extraction(con, cfg, API_SOURCES, tokens=TOKEN_MAP,
                                client_options=small_pages)
        incremental_requests = sum(second.request_counts.values())
        fresh = open_warehouse(root / "fresh.duckdb")
        run_extraction(fresh, api_config(files_config, second.url, "fresh.toml", "fresh.duckdb"),
                       API_SOURCES, tokens=TOKEN_MAP, full=True)
    assert report.tables["billing/invoices"].updated == 3
    assert report.tables["billing/invoices"].inserted == 1  # the new invoice
    assert report.tables["erp/transaction"].inserted == 1  # the posted journal entry
    assert report.tables["erp/transactionline"].inserted == 2
    assert report.tables["billing/customers"].updated == 2
    assert report.tables["revrec/revenue_schedules"].updated == 2
    assert report.tables["support/organizations"].updated == 2
    assert report.tables["support/service_credits"].received == 0
    # only the changed records plus the ERP's four small reference tables (read in full)
    assert report.received < full.received / 100
    assert incremental_requests < full_requests / 10, (incremental_requests, full_requests)
    for table in API_TABLES:
        assert conform(table, raw_frame(con, table)).equals(
            conform(table, raw_frame(fresh, table))), table


def test_tokens_never_appear_in_errors_logs_or_ops(files_config: TieoutConfig,
                                                  sandbox: SandboxServer,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = api_config(files_config, sandbox.url)
    con = open_warehouse(cfg.warehouse)
    wrong = {"billing": "sk_test_WRONG-token-91", "erp": TOKENS.erp, "revrec": TOKENS.revrec}
    with pytest.raises(TieoutError) as err:
        run_extraction(con, cfg, ["billing"], tokens=wrong)
    message = str(err.value)
    assert "billing" in message and "401" in message and "\n" not in message
    run_extraction(con, cfg, ["erp", "revrec"], tokens=TOKEN_MAP)
    stored = " ".join(str(row) for row in con.execute(
        "SELECT * FROM ops.runs UNION ALL BY NAME SELECT * FROM ops.batches").fetchall())
    everything = " ".join([message, repr(err.value), caplog.text, stored])
    for secret in [*TOKEN_MAP.values(), wrong["billing"]]:
        assert secret not in everything
    assert assert_lands_exactly is not None  # shared helper stays importable


def test_tokens_never_reach_dagster_event_logs(files_config: TieoutConfig,
                                               sandbox: SandboxServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import dagster as dg

    from assets import RAW_ASSETS
    from pipelines.resources import SourceSecrets, TieoutSettings

    cfg = api_config(files_config, sandbox.url)
    instance = dg.DagsterInstance.ephemeral()
    selection = dg.AssetSelection.groups("billing", "erp", "revrec")
    assets = [a for a in RAW_ASSETS if a.partitions_def is None]
    resources = {"tieout": TieoutSettings(config_path=str(cfg.path)), "secrets": SourceSecrets()}
    monkeypatch.setenv("TIEOUT_BILLING_API_KEY", TOKENS.billing)
    monkeypatch.setenv("TIEOUT_ERP_TOKEN", TOKENS.erp)
    monkeypatch.setenv("TIEOUT_REVREC_API_KEY", TOKENS.revrec)
    good = dg.materialize(assets, resources=resources, instance=instance, selection=selection)
    assert good.success
    monkeypatch.setenv("TIEOUT_BILLING_API_KEY", "sk_test_WRONG-in-dagster-55")
    bad = dg.materialize(assets, resources=resources, instance=instance, selection=selection,
                         raise_on_error=False)
    assert not bad.success
    text = " ".join(str(entry) for run in (good, bad) for entry in
                    instance.all_logs(run.run_id))
    assert "401" in text  # the failure is explained...
    for secret in [*TOKEN_MAP.values(), "sk_test_WRONG-in-dagster-55"]:
        assert secret not in text  # ...without the secret


def test_an_unreadable_response_lands_nothing_of_its_group(files_config: TieoutConfig) -> None:
    spec = "billing.invoices:drop=1.0"  # every invoices page is cut off mid-body
    with SandboxServer(files_config.root, tokens=TOKENS, faults=spec) as broken:
        cfg = api_config(files_config, broken.url)
        con = open_warehouse(cfg.warehouse)
        with pytest.raises(TieoutError) as err:
            run_extraction(con, cfg, ["billing"], tokens=TOKEN_MAP,
                           client_options={**FAST, "max_attempts": 3})
    message = str(err.value)
    assert message.startswith("billing GET /v1/invoices") and "\n" not in message
    assert con.execute("SELECT count(*) FROM raw_billing.invoices").fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM raw_billing.invoice_lines").fetchall()[0][0] == 0
    marks = {e for (e,) in con.execute("SELECT entity FROM ops.watermarks").fetchall()}
    assert "invoices" not in marks and "customers" in marks  # earlier groups committed
    assert con.execute("SELECT status FROM ops.runs").fetchall() == [("failed",)]
