"""Operating metrics are measured, not estimated: an extraction against the sandbox with seeded
faults must store, per endpoint, exactly the requests, errors by status, retries and repeats
the sandbox logged injecting, and exactly the records the gate quarantined.

The fault plan leaves out ``slow`` (it changes no count) and ``mutate`` (a record changed mid
scan is served again as a new version: a change, not a repeat).  A duplicate injected into an
answer that was then cut off (``drop``) never reached the client, so it is not expected.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest

from seeds.generator.writer import write_config
from seeds.sandbox import SandboxServer, SandboxTokens
from seeds.sandbox.faults import FaultEvent
from tieout.config import TieoutConfig, load_config
from tieout.extract.service import run_extraction
from tieout.warehouse.connection import open_warehouse

pytestmark = pytest.mark.slow

TOKENS = SandboxTokens(billing="sk_test_metrics-billing-41", erp="erp-metrics-token-77",
                       revrec="rr-metrics-token-19", support="zd-metrics-token-63")
TOKEN_MAP = {"billing": TOKENS.billing, "erp": TOKENS.erp, "revrec": TOKENS.revrec,
             "support": TOKENS.support}
SOURCES = ["billing", "erp", "revrec", "support"]
SPEC = ("*:429=0.12,*:500=0.05,*:503=0.08,*:drop=0.06,billing.*:duplicate=0.4,"
        "revrec.*:duplicate=0.4,support.*:duplicate=0.5,retry_after=0")
PAGES = {"page_size": 5}
FAST = {"sleep": lambda seconds: None}
# the sandbox's endpoint names -> the endpoints tieout records (ids as {id})
ENDPOINTS = {
    "billing.customers": ("billing", "/v1/customers"),
    "billing.subscriptions": ("billing", "/v1/subscriptions"),
    "billing.invoices": ("billing", "/v1/invoices"),
    "billing.invoice_lines": ("billing", "/v1/invoices/{id}/lines"),
    "billing.credit_notes": ("billing", "/v1/credit_notes"),
    "billing.credit_note_lines": ("billing", "/v1/credit_notes/{id}/lines"),
    "billing.products": ("billing", "/v1/products"),
    "billing.prices": ("billing", "/v1/prices"),
    "erp.suiteql": ("erp", "/services/rest/query/v1/suiteql"),
    "revrec.schedules": ("revrec", "/api/v1/revenue_schedules"),
    "support.organizations": ("support", "/api/v2/organizations"),
    "support.service_credits": ("support", "/api/v2/service_credits"),
}
RETRIED = {"429": "429", "500": "500", "503": "503", "drop": "truncated"}
BROKEN_TIERS, NEGATIVE_CREDITS = 4, 2


def _break_support(root: Path) -> None:
    """Known bad records: unknown tiers (check ``enum``) and negative credits
    (``non_negative``), each failing exactly one check."""
    orgs = root / "support/organizations.parquet"
    frame = pl.read_parquet(orgs)
    bad = frame["id"].head(BROKEN_TIERS)
    frame.with_columns(support_tier=pl.when(pl.col("id").is_in(bad.implode()))
                       .then(pl.lit("platinum")).otherwise("support_tier")).write_parquet(orgs)
    credits = root / "support/service_credits.parquet"
    frame = pl.read_parquet(credits)
    bad = frame["id"].head(NEGATIVE_CREDITS)
    frame.with_columns(amount=pl.when(pl.col("id").is_in(bad.implode()))
                       .then(pl.lit("-5.00")).otherwise("amount")).write_parquet(credits)


def _stored(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[tuple[str, str, str, str],
                                                                  float]:
    return {(metric, source, endpoint, dimension): value for metric, source, endpoint,
            dimension, value in con.execute(
                "SELECT metric, source, endpoint, dimension, value FROM ops.run_metrics "
                "WHERE run_id = ? AND stage = 'extract'", [run_id]).fetchall()}


def _served_duplicates(log: list[FaultEvent]) -> Counter[str]:
    """Duplicates in answers the client received (not in a request whose answer was cut)."""
    dropped = {(e.endpoint, e.request_no) for e in log if e.kind == "drop"}
    return Counter(e.endpoint for e in log
                   if e.kind == "duplicate" and (e.endpoint, e.request_no) not in dropped)


def _api_config(files_config: TieoutConfig, url: str, name: str) -> TieoutConfig:
    return load_config(write_config(files_config.root, seed=21, invoices=600, mode="api",
                                    base_url=url, name=f"{name}.toml",
                                    warehouse=f"{name}.duckdb"))


def test_stored_metrics_equal_what_the_sandbox_injected(files_config: TieoutConfig) -> None:
    _break_support(files_config.root)
    with SandboxServer(files_config.root, tokens=TOKENS, faults=SPEC, seed=8) as sandbox:
        cfg = _api_config(files_config, sandbox.url, "faulty")
        con = open_warehouse(cfg.warehouse)
        report = run_extraction(con, cfg, SOURCES, tokens=TOKEN_MAP,
                                client_options={**FAST, **PAGES})
        log, requests = sandbox.fault_log, sandbox.request_counts
    stored = _stored(con, report.run_id)
    injected = Counter((e.endpoint, e.kind) for e in log)
    # the plan really exercised every kind, so the equalities below cannot hold vacuously
    assert {kind for _, kind in injected} >= {"429", "500", "503", "drop", "duplicate"}
    assert set(requests) <= set(ENDPOINTS), requests

    for name, (source, endpoint) in ENDPOINTS.items():
        if not requests[name]:
            continue
        errors = {RETRIED[kind]: injected[(name, kind)] for kind in RETRIED
                  if injected[(name, kind)]}
        got = {dim: value for (metric, src, where, dim), value in stored.items()
               if metric == "errors" and (src, where) == (source, endpoint)}
        assert got == errors, name
        assert stored[("http_requests", source, endpoint, "")] == requests[name], name
        assert stored[("retries", source, endpoint, "")] == sum(errors.values()), name
        assert stored[("pages_fetched", source, endpoint, "")] == (
            requests[name] - sum(errors.values())), name

    served = _served_duplicates(log)
    assert served["billing.invoices"] + served["support.organizations"] > 0
    for name in ("billing.customers", "billing.subscriptions", "billing.invoices",
                 "billing.invoice_lines", "billing.credit_notes", "billing.credit_note_lines",
                 "billing.products", "billing.prices", "support.organizations",
                 "support.service_credits", "erp.suiteql"):
        source, endpoint = ENDPOINTS[name]
        assert stored.get(("duplicates_suppressed", source, endpoint, "connector"), 0) == (
            served[name]), name
    # revrec: a repeat the connector does not drop (not at its seek frontier) is collapsed
    # by landing, newest kept
    revrec = (stored.get(("duplicates_suppressed", "revrec", "/api/v1/revenue_schedules",
                          "connector"), 0)
              + stored.get(("duplicates_suppressed", "revrec", "revrec/revenue_schedules",
                            "landing"), 0))
    assert revrec == served["revrec.schedules"]
    assert not {k for k in stored if k[0] == "duplicates_suppressed" and k[3] == "landing"
                and k[1] != "revrec"}

    quarantined = {(table, check): value for (metric, _s, table, check), value
                   in stored.items() if metric == "records_quarantined"}
    assert quarantined == {("support/organizations", "enum"): BROKEN_TIERS,
                           ("support/service_credits", "non_negative"): NEGATIVE_CREDITS}
    held = dict(((t, c), n) for t, c, n in con.execute("""
        SELECT 'support/organizations', "check", count(*) FROM quarantine.support_organizations
        GROUP BY 2 UNION ALL
        SELECT 'support/service_credits', "check", count(*) FROM quarantine.support_service_credits
        GROUP BY 2""").fetchall())
    assert held == quarantined  # one quarantine row per record: one failed check each
    [(batches,)] = con.execute("SELECT sum(quarantined) FROM ops.batches WHERE run_id = ?",
                               [report.run_id]).fetchall()
    assert sum(quarantined.values()) == batches
    for table, counts in report.tables.items():
        assert stored[("records_received", table.split("/")[0], table, "")] == counts.received


def test_metrics_are_kept_across_runs(files_config: TieoutConfig) -> None:
    with SandboxServer(files_config.root, tokens=TOKENS, faults="billing.*:429=0.3,"
                       "retry_after=0", seed=2) as sandbox:
        cfg = _api_config(files_config, sandbox.url, "kept")
        con = open_warehouse(cfg.warehouse)
        first = run_extraction(con, cfg, ["billing"], tokens=TOKEN_MAP,
                               client_options={**FAST, **PAGES})
        before = con.execute("SELECT * FROM ops.run_metrics WHERE run_id = ? ORDER BY ALL",
                             [first.run_id]).fetchall()
        second = run_extraction(con, cfg, ["billing"], tokens=TOKEN_MAP,
                                client_options={**FAST, **PAGES})
    assert before and first.run_id != second.run_id
    assert con.execute("SELECT * FROM ops.run_metrics WHERE run_id = ? ORDER BY ALL",
                       [first.run_id]).fetchall() == before  # untouched by the next run
    runs = dict(con.execute("SELECT run_id, sum(value) FILTER (WHERE metric = 'http_requests')"
                            " FROM ops.run_metrics GROUP BY run_id").fetchall())
    assert set(runs) == {first.run_id, second.run_id}
    assert runs[second.run_id] < runs[first.run_id]  # incremental: far fewer requests
