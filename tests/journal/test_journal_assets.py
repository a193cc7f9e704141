"""The journal assets in Dagster: a partition posts its closed windows; an unbalanced batch
fails the blocking check and nothing is posted; the hourly schedule asks for the right days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.usage_journals import BALANCED_CHECK, JOURNAL_ASSETS, NO_DEAD_LETTERS, POSTINGS_KEY
from pipelines.jobs import hourly_usage_journals
from pipelines.resources import SourceSecrets, TieoutSettings
from seeds.generator import CompanySummary
from seeds.sandbox.server import SandboxServer
from tieout.config import load_config
from tieout.journal import ledger
from tieout.journal.erp_api import JournalApi
from tieout.warehouse.connection import open_warehouse

from . import world
from .test_posting_sandbox import TOKEN, TOKENS, erp_journals, usage_events

pytestmark = pytest.mark.slow


def _materialize(config: Path, partition: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        JOURNAL_ASSETS, partition_key=partition, raise_on_error=False,
        instance=dg.DagsterInstance.ephemeral(),
        resources={"tieout": TieoutSettings(config_path=str(config)),
                   "secrets": SourceSecrets()})


def _posted(result: dg.ExecuteInProcessResult) -> int:
    [event] = [e for e in result.get_asset_materialization_events()
               if e.asset_key == POSTINGS_KEY]
    return int(event.materialization.metadata["posted"].value)  # type: ignore[arg-type]


def _world(new_world: Callable[..., Path], url: str) -> tuple[Path, duckdb.DuckDBPyConnection]:
    """A world posting to ``url`` with the usage events landed, and its open warehouse."""
    config = new_world(60)
    config.write_text(config.read_text().replace("http://127.0.0.1:9", url)
                      .replace('as_of = "2026-01-20T18:00:00Z"', 'as_of = "2026-01-12T00:00:00Z"'))
    con = open_warehouse(load_config(config).warehouse)
    world.insert_events(con, usage_events())
    return config, con


def _erp_journals(url: str) -> dict[str, tuple[int, Decimal]]:
    api = JournalApi(url, TOKEN)
    try:
        return erp_journals(api)
    finally:
        api.close()


def test_a_partition_posts_its_closed_windows(new_world: Callable[..., Path],
                                               erp_company: CompanySummary,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIEOUT_TEST_ERP_TOKEN", TOKEN)
    with SandboxServer(erp_company.out_dir, tokens=TOKENS) as server:
        config, con = _world(new_world, server.url)
        con.close()
        result = _materialize(config, "2025-12-30")
        again = _materialize(config, "2025-12-30")
        journals = _erp_journals(server.url)
    assert result.success and again.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {BALANCED_CHECK: True, NO_DEAD_LETTERS: True}
    assert _posted(result) == len(journals) > 0
    assert {key.split(":")[3][:8] for key in journals} == {"20251230"}  # only that day
    assert _posted(again) == 0  # re-running the partition posts nothing twice


def test_an_unbalanced_batch_blocks_posting(new_world: Callable[..., Path],
                                            erp_company: CompanySummary,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIEOUT_TEST_ERP_TOKEN", TOKEN)
    with SandboxServer(erp_company.out_dir, tokens=TOKENS) as server:
        config, con = _world(new_world, server.url)
        now = dt.datetime.now(dt.UTC)
        con.execute("insert into ops.journal_batches (batch_id, batch_version, external_id,"
                    " legal_entity, currency, window_start, window_end, posting_period, amount,"
                    " status, created_at, updated_at, kind, tran_date, accounting_period,"
                    " attempts) values ('usage:US01:USD:broken', 1, 'usage:US01:USD:broken:v1',"
                    " 'US01', 'USD', ?, ?, '2026-01', 1, 'pending', ?, ?, 'original',"
                    " '2026-01-02', '2026-01', 0)", [now, now, now, now])
        con.execute("insert into ops.journal_batch_lines values ('usage:US01:USD:broken', 1, 1,"
                    " '1150', 'prod_api', 100, 1, 1, 1), ('usage:US01:USD:broken', 1, 2,"
                    " '4100', 'prod_api', -99, 1, 1, 1)")
        con.close()
        result = _materialize(config, "2025-12-30")
        journals = _erp_journals(server.url)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks[BALANCED_CHECK] is False
    assert not result.success
    assert POSTINGS_KEY not in {m.asset_key for m in result.get_asset_materialization_events()}
    assert journals == {}  # nothing reached the ERP, the well-formed batches included
    con = open_warehouse(load_config(config).warehouse)
    assert ledger.unbalanced(con) == [("usage:US01:USD:broken", 1, 1)]
    con.close()


@pytest.mark.parametrize(("hour", "days"), [
    (0, ["2026-01-04", "2026-01-05"]),  # the last window of yesterday closed at 00:15
    (10, ["2026-01-05"]),
])
def test_hourly_schedule_requests_the_days_with_closing_windows(hour: int,
                                                                days: list[str]) -> None:
    moment = dt.datetime(2026, 1, 5, hour, 20, tzinfo=dt.UTC)
    context = dg.build_schedule_context(scheduled_execution_time=moment)
    requests = hourly_usage_journals(context)
    assert [r.partition_key for r in requests] == days
    assert len({r.run_key for r in requests}) == len(days)
