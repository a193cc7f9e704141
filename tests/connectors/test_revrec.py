"""Revrec paging: why page numbers alone lose schedules, and how seek + catch-up avoid it."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest

from tests.connectors.helpers import TOKENS, Reply, Sleeps, collect, key_set, make_connector
from tieout.connectors import HttpClient, RevrecConnector
from tieout.connectors.revrec import LINES, SCHEDULES

SKIPPING = "revrec.schedules:mutate=0.3,revrec.schedules:duplicate=0.3"


@pytest.fixture(scope="module")
def tied_company(company_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The company with revrec ``updated_at`` truncated to the year: runs of hundreds of
    schedules share one timestamp (a bulk update), longer than any page."""
    root = tmp_path_factory.mktemp("tied")
    for system in ("billing", "erp", "revrec"):
        shutil.copytree(company_dir / system, root / system)
    path = root / "revrec" / "revenue_schedules.parquet"
    frame = pl.read_parquet(path)
    frame.with_columns(pl.col("updated_at").dt.truncate("1y")).write_parquet(path)
    return root


def _ids(company: Path) -> set[str]:
    return set(pl.read_parquet(company / "revrec" / "revenue_schedules.parquet")["id"])


def test_following_page_numbers_alone_skips_schedules(make_server: Any,
                                                      tied_company: Path) -> None:
    """The problem the connector must solve: a moved schedule shifts an unchanged one
    onto a page already read, and a ``next``-following client never sees it."""
    sandbox = make_server(data_dir=tied_company, faults=SKIPPING)
    client = HttpClient("revrec", sandbox.url, {"X-API-Key": TOKENS.revrec}, sleep=Sleeps())
    seen: set[str] = set()
    path, params = "/api/v1/revenue_schedules", {"page": 1, "page_size": 20}
    while True:
        body = client.get_json(path, params)
        seen |= {schedule["id"] for schedule in body["results"]}
        if not body["next"]:
            break
        path, params = client.relative(body["next"])
    assert sandbox.fault_counts[("revrec.schedules", "mutate")] > 0
    assert _ids(tied_company) - seen  # some schedules were never served


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seek_paging_misses_nothing_under_moves(make_server: Any, tied_company: Path,
                                                seed: int) -> None:
    sandbox = make_server(data_dir=tied_company, faults=SKIPPING, seed=seed)
    connector = make_connector(sandbox.url, "revrec", page_size=20)
    tables = collect(connector.extract("revrec/revenue_schedules"))
    assert sandbox.fault_counts[("revrec.schedules", "mutate")] > 0
    assert set(tables[SCHEDULES]["id"]) == _ids(tied_company)
    lines = pl.read_parquet(tied_company / "revrec" / "revenue_schedule_lines.parquet")
    assert key_set(LINES, tables[LINES]) == {
        (sid, str(n)) for sid, n in lines.select("schedule_id", "line_number").iter_rows()
    }
    # a moved schedule is read again in its new version; the last one read is the newest
    last = tables[SCHEDULES].unique("id", keep="last")
    moved = last.filter(pl.col("updated_at") > "2026-01-01T00:00:00Z")  # newest original
    assert moved.height > 0


def test_ties_without_faults_are_read_exactly_once(make_server: Any,
                                                   tied_company: Path) -> None:
    sandbox = make_server(data_dir=tied_company)
    connector = make_connector(sandbox.url, "revrec", page_size=20)
    tables = collect(connector.extract("revrec/revenue_schedules"))
    assert tables[SCHEDULES].height == len(_ids(tied_company))
    assert tables[SCHEDULES]["id"].n_unique() == tables[SCHEDULES].height
    assert connector.client.stats.duplicates_suppressed == 0


# ---- catch-up passes (scripted) ---------------------------------------------------------------
def _page(*schedules: tuple[str, str]) -> Reply:
    results = [{"id": sid, "updated_at": ts, "lines": [{"line_number": 1, "amount": "1.00"}]}
               for sid, ts in schedules]
    return Reply(200, {"count": len(results), "page": 1, "next": None, "previous": None,
                       "results": results})


def _since_params(stub_server: Any) -> list[str | None]:
    out = []
    for _, target, _ in stub_server.requests:
        values = parse_qs(urlsplit(target).query).get("updated_since")
        out.append(values[0] if values else None)
    return out


def test_catch_up_reads_what_changed_during_the_run(stub: Any) -> None:
    import datetime as dt

    started = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    server = stub(
        _page(("rs_a", "2026-01-01T00:00:00Z"), ("rs_b", "2026-02-01T00:00:00Z")),
        _page(("rs_b", "2026-03-01T12:00:05Z")),  # rs_b changed while we paged
        _page(("rs_b", "2026-03-01T12:00:05Z")),  # nothing new: stop
    )
    client = HttpClient("revrec", server.url, {"X-API-Key": "k" * 20}, sleep=Sleeps())
    connector = RevrecConnector(client, now=lambda: started)
    tables = collect(connector.extract(SCHEDULES))
    assert tables[SCHEDULES]["id"].to_list() == ["rs_a", "rs_b", "rs_b"]
    assert tables[SCHEDULES]["updated_at"][-1] == "2026-03-01T12:00:05Z"
    assert tables[LINES]["schedule_id"].to_list() == ["rs_a", "rs_b", "rs_b"]
    assert _since_params(server) == [None, "2026-03-01T11:59:00Z", "2026-03-01T11:59:00Z"]


def test_catch_up_is_bounded(stub: Any, caplog: pytest.LogCaptureFixture) -> None:
    import datetime as dt

    server = stub(
        _page(("rs_a", "2026-01-01T00:00:00Z")),
        *[_page(("rs_a", f"2026-03-01T12:00:0{n}Z")) for n in range(1, 6)],
    )
    client = HttpClient("revrec", server.url, {"X-API-Key": "k" * 20}, sleep=Sleeps())
    connector = RevrecConnector(client, max_passes=2,
                                now=lambda: dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))
    with caplog.at_level(logging.WARNING):
        tables = collect(connector.extract(SCHEDULES))
    assert len(server.requests) == 3  # the scan + 2 catch-up passes
    assert tables[SCHEDULES].height == 3
    assert "still changing after 2 catch-up passes" in caplog.text
