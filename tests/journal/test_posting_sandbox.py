"""Posting against the sandbox ERP over real HTTP: seeded faults, dead letters and replay, late
usage, closed periods. Each test starts its own sandbox on a free loopback port."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from seeds.generator import CompanySummary
from seeds.sandbox.auth import SandboxTokens
from seeds.sandbox.server import SandboxServer
from tieout.cli.main import main
from tieout.config import load_config
from tieout.connectors.erp import SUITEQL_PATH
from tieout.journal import ledger
from tieout.journal.erp_api import JournalApi
from tieout.journal.poster import ATTEMPTS_PER_RUN, FAILURES_BEFORE_PAUSE
from tieout.journal.service import all_scope, post_usage_journals, replay_dead_letter
from tieout.warehouse.connection import open_warehouse

from . import world

UTC = dt.UTC
TOKEN = "erp-journal-test-token"
TOKENS = SandboxTokens(billing="b-token", erp=TOKEN, revrec="r-token")
NOW = dt.datetime(2026, 1, 12, tzinfo=UTC)
FAULTS = ("erp.journalentry:429=0.15,erp.journalentry:503=0.15,"
          "erp.journalentry:commit_timeout=0.2,erp.journalentry:drop=0.1,"
          "erp.journalentry_lookup:500=0.1,retry_after=0,hang_ms=100")

pytestmark = pytest.mark.slow


@contextmanager
def sandbox(company: CompanySummary, faults: str | None = None,
            seed: int = 0) -> Iterator[tuple[SandboxServer, JournalApi]]:
    with SandboxServer(company.out_dir, tokens=TOKENS, faults=faults, seed=seed) as server:
        api = JournalApi(server.url, TOKEN, backoff_base=0.0, read_timeout=5.0)
        try:
            yield server, api
        finally:
            api.close()


def erp_journals(api: JournalApi) -> dict[str, tuple[int, Decimal]]:
    """externalId -> (entries carrying it, total) of tieout's usage journals in the ERP."""
    body = api.read_client.post_json(SUITEQL_PATH, {"limit": 1000, "offset": 0}, {
        "q": "SELECT externalid, count(*) AS n, sum(foreigntotal) AS total FROM transaction"
             " WHERE type = 'Journal' AND externalid LIKE 'usage:%' GROUP BY externalid"})
    return {row["externalid"]: (int(row["n"]), Decimal(str(row["total"])))
            for row in body["items"]}


def usage_events() -> list[world.Event]:
    """Two weeks of usage for both items, every few hours, past the included quantity."""
    events = []
    start = dt.datetime(2025, 12, 29, 1, 0, tzinfo=UTC)
    for n in range(60):
        at = start + dt.timedelta(hours=5 * n, minutes=7 * (n % 5))
        item = "si_us" if n % 3 else "si_eu"
        events.append(world.Event(f"ev_{n}", item, 10 + (n * 7) % 40, at,
                                  at + dt.timedelta(minutes=3)))
    return events


def _post_until_settled(con: object, cfg: object, api: JournalApi, runs: int = 12) -> None:
    for _ in range(runs):
        post_usage_journals(con, cfg, api, all_scope(cfg, NOW),  # type: ignore[arg-type]
                            sleep=lambda _: None)
        for batch in ledger.list_batches(con, "dead_letter"):  # type: ignore[arg-type]
            replay_dead_letter(con, cfg, api, batch.batch_id,  # type: ignore[arg-type]
                               sleep=lambda _: None)
        if not ledger.postable(con):  # type: ignore[arg-type]
            return


def test_faults_end_with_one_entry_per_version_and_fault_free_totals(
        new_world: Callable[..., Path], erp_company: CompanySummary) -> None:
    events = usage_events()
    totals = {}
    for label, faults in (("clean", None), ("faulty", FAULTS)):
        cfg = load_config(new_world(60))
        con = open_warehouse(cfg.warehouse)
        with sandbox(erp_company, faults, seed=11) as (server, api):
            world.insert_events(con, events)
            _post_until_settled(con, cfg, api)
            journals = erp_journals(api)
            injected = server.fault_counts
        posted = ledger.list_batches(con, "posted")
        assert ledger.list_batches(con) == posted, label  # nothing left unposted
        assert {b.external_id for b in posted} == set(journals), label
        assert all(count == 1 for count, _ in journals.values()), label
        totals[label] = {key: total for key, (_, total) in journals.items()}
        if faults:
            assert injected[("erp.journalentry", "commit_timeout")] > 0
            assert injected[("erp.journalentry", "drop")] > 0
            # every POST whose answer was lost is followed by a look-up, never a blind re-POST
            for batch in posted:
                history = ledger.attempts(con, batch)
                for earlier, later in pairwise(history):
                    if earlier[1] == "post" and earlier[5] == "unknown":
                        assert later[1] == "lookup", (batch.external_id, history)
            [(lookups_found,)] = con.execute(
                "select count(*) from ops.journal_attempts where action = 'lookup'"
                " and outcome = 'found'").fetchall()
            assert lookups_found > 0
        con.close()
    assert totals["faulty"] == totals["clean"]
    assert len(totals["clean"]) > 10


def test_dead_letter_then_replay_posts_once(new_world: Callable[..., Path],
                                            erp_company: CompanySummary,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = new_world(60, max_attempts=2)
    cfg = load_config(config)
    con = open_warehouse(cfg.warehouse)
    world.insert_events(con, usage_events()[:6])
    with sandbox(erp_company, "erp.journalentry:503=1,retry_after=0") as (_, api):
        run = post_usage_journals(con, cfg, api, all_scope(cfg, NOW), sleep=lambda _: None)
        assert erp_journals(api) == {}
    dead = ledger.list_batches(con, "dead_letter")
    assert run.report.dead_lettered == len(dead) > 0
    assert all(b.attempts == 2 and "503" in (b.last_error or "") for b in dead)
    con.close()

    with sandbox(erp_company) as (server, api):
        config.write_text(config.read_text().replace("http://127.0.0.1:9", server.url))
        monkeypatch.setenv("TIEOUT_TEST_ERP_TOKEN", TOKEN)
        assert main(["journal", "list", "--config", str(config), "--status",
                     "dead_letter"]) == 0
        assert dead[0].external_id in capsys.readouterr().out
        assert main(["journal", "replay", dead[0].batch_id, "--config", str(config)]) == 0
        assert main(["journal", "replay", dead[0].batch_id, "--config", str(config)]) == 2
        assert "not dead-lettered" in capsys.readouterr().err
        journals = erp_journals(api)
    assert journals == {dead[0].external_id: (1, dead[0].amount)}
    con = open_warehouse(cfg.warehouse)
    [replayed] = ledger.find(con, dead[0].external_id)
    assert replayed.status == "posted" and replayed.erp_transaction_id is not None
    assert len(ledger.list_batches(con, "dead_letter")) == len(dead) - 1
    con.close()


def test_late_usage_is_one_adjustment_and_closed_period_rolls_forward(
        new_world: Callable[..., Path], erp_company: CompanySummary) -> None:
    cfg = load_config(new_world(60))
    con = open_warehouse(cfg.warehouse)
    occurred = dt.datetime(2025, 12, 31, 10, 0, tzinfo=UTC)  # 02:00 in LA: period 2025-12
    world.insert_events(con, [world.Event("ev_a", "si_us", 150, occurred,
                                          occurred + dt.timedelta(minutes=5))])
    with sandbox(erp_company) as (_, api):
        first = post_usage_journals(con, cfg, api, all_scope(cfg, occurred + dt.timedelta(
            hours=2)), sleep=lambda _: None)
        [original] = ledger.list_batches(con)
        # a late event for the posted window: one adjustment with the difference only
        world.insert_events(con, [world.Event(
            "ev_late", "si_us", 20, occurred + dt.timedelta(minutes=30),
            occurred + dt.timedelta(days=3))])
        second = post_usage_journals(con, cfg, api, all_scope(cfg, occurred + dt.timedelta(
            days=3, hours=1)), sleep=lambda _: None)
        third = post_usage_journals(con, cfg, api, all_scope(cfg, occurred + dt.timedelta(
            days=4)), sleep=lambda _: None)
        journals = erp_journals(api)
        record = api.lookup(original.external_id)
    assert (first.plan.originals, first.report.posted, first.report.rolled_forward) == (1, 1, 1)
    assert (second.plan.originals, second.plan.adjustments, second.report.posted) == (0, 1, 1)
    assert (third.plan.created, third.report.posted) == (0, 0)
    v1, v2 = ledger.find(con, original.batch_id)
    assert v1 == original.__class__(**{**original.__dict__})  # v1 untouched by the adjustment
    assert (v1.amount, v2.amount) == (Decimal("1.00"), Decimal("0.40"))  # 50 then 20 units x 2c
    assert v2.kind == "adjustment" and v2.external_id.endswith(":v2")
    assert (v1.accounting_period, v1.posting_period) == ("2025-12", "2026-01")
    assert "period 2025-12 closed, posted to 2026-01" in (v1.memo or "")
    assert record is not None and record["postingPeriod"]["refName"] == "Jan 2026"
    assert journals == {v1.external_id: (1, Decimal("1.00")), v2.external_id: (1, Decimal("0.40"))}
    con.close()


def test_a_failing_erp_pauses_posting_and_leaves_the_rest_pending(
        new_world: Callable[..., Path], erp_company: CompanySummary) -> None:
    cfg = load_config(new_world(60, max_attempts=10))
    con = open_warehouse(cfg.warehouse)
    world.insert_events(con, usage_events())
    with sandbox(erp_company, "erp.journalentry:503=1,retry_after=0") as (_, api):
        run = post_usage_journals(con, cfg, api, all_scope(cfg, NOW), sleep=lambda _: None)
    batches = ledger.list_batches(con)
    con.close()
    tried = [b for b in batches if b.attempts]
    assert run.report.paused and run.report.failed == len(tried) == FAILURES_BEFORE_PAUSE
    assert all(b.status == "failed" and b.attempts == ATTEMPTS_PER_RUN for b in tried)
    assert len(batches) > len(tried)  # the rest waits, untouched, for the next run
    assert {b.status for b in batches if not b.attempts} == {"pending"}
