"""Round trip: posted journals come back with the next ERP extraction and USAGE_JOURNAL_MISMATCH
ties them out - silent where the ERP's usage revenue is exactly what tieout posted, a finding
where someone else booked usage revenue by hand."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from seeds.generator import CompanySummary
from tieout.config import load_config
from tieout.extract.service import run_extraction
from tieout.journal.service import all_scope, post_usage_journals
from tieout.transform.dbt_vars import PROJECT_DIR, dbt_vars_arg
from tieout.transform.invocation import dbt_executable
from tieout.warehouse.connection import open_warehouse

from . import world
from .test_posting_sandbox import TOKEN, sandbox, usage_events

pytestmark = pytest.mark.slow
NOW = dt.datetime(2026, 1, 12, tzinfo=dt.UTC)


def test_posted_journals_come_back_and_tie_out(new_world: Callable[..., Path],
                                               erp_company: CompanySummary) -> None:
    config = new_world(60)
    cfg = load_config(config)
    con = open_warehouse(cfg.warehouse)
    world.insert_events(con, usage_events())
    with sandbox(erp_company) as (server, api):
        config.write_text(config.read_text().replace("http://127.0.0.1:9", server.url))
        cfg = load_config(config)
        run = post_usage_journals(con, cfg, api, all_scope(cfg, NOW), sleep=lambda _: None)
        # someone books usage revenue by hand in the ERP, outside tieout
        ref = api.reference()
        manual = api.post({
            "externalId": "manual-usage-true-up", "tranDate": "2026-01-09",
            "subsidiary": {"id": "1"}, "currency": {"id": str(ref.currencies["USD"])},
            "memo": "manual usage true-up", "line": {"items": [
                {"account": {"id": str(ref.accounts["1150"])}, "debit": "5.00"},
                {"account": {"id": str(ref.accounts["4100"])}, "credit": "5.00"}]}})
        assert manual.kind == "created"
        run_extraction(con, cfg, ["erp"], tokens={"erp": TOKEN})
    assert run.report.posted > 10 and run.report.rolled_forward > 0
    # the controller closes January; the ledger rule now applies to it
    con.execute("update raw_erp.accountingperiod set closed = 'T'"
                " where startdate = date '2026-01-01'")
    con.close()
    done = subprocess.run(
        [dbt_executable(), "run", "--select", "+int_rules__ledger", "--project-dir",
         str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--vars", dbt_vars_arg(cfg),
         "--target-path", str(config.parent / "target"), "--log-path",
         str(config.parent / "logs"), "--quiet"],
        env={**os.environ, "TIEOUT_WAREHOUSE": str(cfg.warehouse)}, capture_output=True,
        text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:]

    con = open_warehouse(cfg.warehouse)
    posted = dict(((e, c), int(m)) for e, c, m in con.execute(
        "select legal_entity, currency, sum(amount * case currency when 'JPY' then 1 else 100"
        " end) from ops.journal_batches where status = 'posted' and posting_period = '2026-01'"
        " group by all").fetchall())
    tieout = {(e, c): (p, erp) for e, c, p, erp in con.execute(
        "select legal_entity_code, currency, posted_minor, erp_usage_revenue_minor"
        " from intermediate.int_usage_revenue_tieout where period = '2026-01'").fetchall()}
    findings = {key.split(":", 1)[1]: diff for key, diff in con.execute(
        "select natural_key, difference_minor from intermediate.int_rules__ledger"
        " where rule = 'USAGE_JOURNAL_MISMATCH' and period = '2026-01'").fetchall()}
    con.close()
    assert set(posted) == {("US01", "USD"), ("EU01", "EUR")}
    # the journals came back: the ERP's usage revenue is tieout's postings (+ the manual 5.00)
    assert tieout[("EU01", "EUR")] == (posted[("EU01", "EUR")], posted[("EU01", "EUR")])
    assert tieout[("US01", "USD")] == (posted[("US01", "USD")], posted[("US01", "USD")] + 500)
    assert findings == {"US01|USD|2026-01": 500}
