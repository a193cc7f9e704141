"""The posting metrics are measured from what went over the wire: against the sandbox ERP with
seeded faults, the success rate, errors, lag and usage-to-journal times stored for the run
equal what the sandbox logged and what the ledger holds."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from seeds.generator import CompanySummary
from seeds.sandbox.server import SandboxServer
from tieout.config import load_config
from tieout.journal import ledger
from tieout.journal.erp_api import RECORD_PATH, JournalApi
from tieout.journal.plan import plan_batches
from tieout.journal.service import all_scope, post_measured
from tieout.metrics import HttpRecorder
from tieout.metrics.recorder import percentile
from tieout.warehouse.connection import open_warehouse

from . import world
from .test_posting_sandbox import NOW, TOKEN, TOKENS, usage_events

pytestmark = pytest.mark.slow

FAULTS = ("erp.journalentry:429=0.15,erp.journalentry:503=0.15,"
          "erp.journalentry:commit_timeout=0.2,retry_after=0,hang_ms=100")
FAILING = {"429", "500", "503", "commit_timeout", "drop"}


def _window(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def test_posting_metrics_equal_the_wire_and_the_ledger(new_world: Callable[..., Path],
                                                        erp_company: CompanySummary) -> None:
    cfg = load_config(new_world(60))
    con = open_warehouse(cfg.warehouse)
    events = usage_events()
    world.insert_events(con, events)
    recorder = HttpRecorder()
    with SandboxServer(erp_company.out_dir, tokens=TOKENS, faults=FAULTS, seed=3) as server:
        api = JournalApi(server.url, TOKEN, backoff_base=0.0, read_timeout=5.0,
                         recorder=recorder)
        try:
            plan_batches(con, cfg, all_scope(cfg, NOW))
            report, metrics = post_measured(con, cfg, api, "posting-run", scope="test:journals",
                                            recorder=recorder, sleep=lambda _: None)
        finally:
            api.close()
        log, requests = server.fault_log, server.request_counts
    stored = {(m.metric, m.dimension): m.value for m in metrics if m.endpoint == RECORD_PATH}
    assert {(m, s, e, d, v) for m, s, e, d, v in con.execute(
        "SELECT metric, source, endpoint, dimension, value FROM ops.run_metrics "
        "WHERE run_id = 'posting-run' AND stage = 'journals'").fetchall()} == {
        (m.metric, m.source, m.endpoint, m.dimension, m.value) for m in metrics}

    posts = requests["erp.journalentry"]
    failed = {e.request_no for e in log if e.endpoint == "erp.journalentry" and e.kind in FAILING}
    assert posts > 0 and failed  # the faults really hit the POSTs
    assert Counter(e.kind for e in log)["commit_timeout"] > 0  # lost answers among them
    assert sum(v for (m, _), v in stored.items() if m == "journal_post_attempts") == posts
    assert stored[("http_requests", "")] == posts
    assert sum(v for (m, _), v in stored.items() if m == "errors") == len(failed)
    assert stored[("posting_success_rate", "")] == pytest.approx((posts - len(failed)) / posts)
    assert stored[("journal_batches_posted", "created")] == report.posted
    assert stored[("journal_batches_posted", "confirmed")] == report.confirmed

    posted = ledger.list_batches(con, "posted")
    assert len(posted) == report.posted + report.confirmed > 0
    [(posted_at,)] = con.execute("SELECT list(posted_at ORDER BY batch_id, batch_version) "
                                 "FROM ops.journal_batches WHERE status = 'posted'").fetchall()
    lags = [(at - b.window_end).total_seconds() for at, b in zip(
        posted_at, sorted(posted, key=lambda b: (b.batch_id, b.batch_version)), strict=True)]
    assert stored[("posting_lag_p50", "")] == pytest.approx(percentile(lags, 0.5), abs=1e-3)
    assert stored[("posting_lag_p95", "")] == pytest.approx(percentile(lags, 0.95), abs=1e-3)

    # every event of a posted window, entity and currency, to its journal's posting
    first_post = {}
    for at, b in zip(posted_at, sorted(posted, key=lambda b: (b.batch_id, b.batch_version)),
                     strict=True):
        key = (b.legal_entity, b.currency, b.window_start)
        first_post[key] = min(first_post.get(key, at), at)
    spans = []
    for event in events:
        _, entity, currency = world.ITEMS[event.item]
        at = first_post.get((entity, currency, _window(event.occurred_at)))
        if at is not None:
            spans.append((at - event.occurred_at).total_seconds())
    assert len(spans) == stored[("usage_events_journaled", "")] > 0
    assert stored[("usage_to_journal_p50", "")] == pytest.approx(percentile(spans, 0.5),
                                                                 abs=1e-3)
    assert stored[("usage_to_journal_p95", "")] == pytest.approx(percentile(spans, 0.95),
                                                                 abs=1e-3)
    steps = con.execute("SELECT scope, status, parent_run_id FROM ops.runs").fetchall()
    assert steps == [("test:journals", "succeeded", "posting-run")]
    con.close()
