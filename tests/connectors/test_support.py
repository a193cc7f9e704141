"""Support connector: cursor pages read exactly once under faults, incremental by updated_at,
entitlement fields flattened, and answers that break the paging contract refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from seeds.sandbox import SandboxServer
from tests.connectors.helpers import (
    TOKENS,
    Reply,
    Sleeps,
    collect,
    dedup,
    expected_loose,
    make_connector,
)
from tieout.connectors import SourceError
from tieout.connectors.support import ORGANIZATIONS, SERVICE_CREDITS, flatten_organization

TABLES = (ORGANIZATIONS, SERVICE_CREDITS)
FAILURES = "support.*:429=0.15,support.*:500=0.1,support.*:503=0.1,support.*:drop=0.1"
PAGES = {"organizations": "/api/v2/organizations", "service_credits": "/api/v2/service_credits"}


def _ids(frame: pl.DataFrame) -> list[str]:
    return frame["id"].to_list()


def test_company_has_support_records_over_several_pages(company_dir: Path) -> None:
    """The generated company pages: otherwise the tests below would prove nothing."""
    for table in TABLES:
        assert pl.read_parquet(company_dir / f"{table}.parquet").height > 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_faults_and_duplicates_still_read_every_record_exactly_once(
        make_server: Any, company_dir: Path, seed: int) -> None:
    spec = f"{FAILURES},support.*:slow=0.1,support.*:duplicate=0.5,slow_ms=5,retry_after=0"
    sandbox = make_server(faults=spec, seed=seed)
    connector = make_connector(sandbox.url, "support", page_size=2, max_attempts=12)
    got = collect(connector.extract_all())
    for table in TABLES:
        expected = expected_loose(company_dir, table)
        assert got[table].height == expected.height, table  # no repeat, no loss
        assert_frame_equal(got[table].sort("id"), expected.sort("id"))
    injected = sandbox.fault_counts
    dropped = {(e.endpoint, e.request_no) for e in sandbox.fault_log if e.kind == "drop"}
    repeats = sum(1 for e in sandbox.fault_log  # a dropped answer never reached the client
                  if e.kind == "duplicate" and (e.endpoint, e.request_no) not in dropped)
    assert repeats > 0 and connector.client.stats.duplicates_suppressed == repeats
    retried = sum(n for (_, kind), n in injected.items() if kind in {"429", "500", "503", "drop"})
    assert retried > 0 and connector.client.stats.retries == retried


def test_records_changing_while_paging_are_read_again_in_their_new_version(
        make_server: Any, company_dir: Path) -> None:
    sandbox = make_server(faults="support.*:mutate=0.5,support.*:duplicate=0.3", seed=4)
    connector = make_connector(sandbox.url, "support", page_size=3)
    got = collect(connector.extract_all())
    assert sandbox.fault_counts[("support.organizations", "mutate")] > 0
    for table in TABLES:
        expected = expected_loose(company_dir, table)
        latest = dedup(table, got[table])  # landing keeps the newest version per id
        assert _ids(latest) == _ids(expected), table  # nothing skipped
        changed = latest.join(expected, on="id", suffix="_was").filter(
            pl.col("updated_at") != pl.col("updated_at_was"))
        assert (changed["updated_at"] > changed["updated_at_was"]).all()
        stable = [c for c in expected.columns if c != "updated_at"]
        assert_frame_equal(latest.select(stable), expected.select(stable))


def test_incremental_reads_only_what_changed_at_or_after_the_watermark(
        server: SandboxServer, company_dir: Path) -> None:
    frame = pl.read_parquet(company_dir / f"{ORGANIZATIONS}.parquet")
    since = frame["updated_at"].sort()[frame.height * 3 // 4]  # an actual value: inclusive
    full = make_connector(server.url, "support", page_size=5)
    collect(full.extract(ORGANIZATIONS))
    inc = make_connector(server.url, "support", page_size=5)
    got = collect(inc.extract(ORGANIZATIONS, since))[ORGANIZATIONS]
    want = frame.filter(pl.col("updated_at") >= since)
    assert sorted(int(i) for i in got["id"]) == sorted(want["id"].to_list())
    assert inc.client.stats.requests < full.client.stats.requests
    # a naive watermark is UTC and goes out as ISO 8601 with a Z
    naive = make_connector(server.url, "support", page_size=5)
    again = collect(naive.extract(ORGANIZATIONS, since.replace(tzinfo=None)))[ORGANIZATIONS]
    assert again["id"].to_list() == got["id"].to_list()


def test_flatten_lifts_the_entitlement_and_joins_products() -> None:
    org = {"id": 1, "name": "A", "external_id": None, "url": "u", "updated_at": "x",
           "organization_fields": {"support_tier": "premium", "sla_policy": "premium_4h",
                                   "covered_products": ["prod_core", "prod_api"],
                                   "entitlement_status": "active", "valid_from": "2025-01-01",
                                   "valid_to": None, "unrelated": 5}}
    flat = flatten_organization(org)
    assert flat["covered_products"] == "prod_core,prod_api"
    assert flat["support_tier"] == "premium" and flat["valid_to"] is None
    assert "organization_fields" not in flat and "unrelated" not in flat
    assert flatten_organization({**org, "organization_fields": {
        "covered_products": []}})["covered_products"] == ""
    broken = flatten_organization({"id": 2, "organization_fields": "premium"})
    assert all(broken[name] is None for name in ("support_tier", "valid_from"))  # gate's job


# ---- answers that break the paging contract (a scripted stub) ---------------------------------
def _page(records: list[dict[str, Any]], *, more: bool, nxt: str | None = None,
          key: str = "organizations") -> dict[str, Any]:
    return {key: records, "meta": {"has_more": more, "after_cursor": "c" if records else None,
                                   "before_cursor": None},
            "links": {"next": nxt, "prev": None}}


ORG = {"id": 7, "updated_at": "2025-03-01T00:00:00Z",
       "organization_fields": {"support_tier": "standard"}}


def test_follows_links_next_and_drops_the_repeated_cursor_record(stub: Any) -> None:
    second = {**ORG, "id": 8}
    server = stub(Reply(body=_page([ORG], more=True, nxt="/api/v2/organizations?page%5Bsize%5D"
                                   "=1&page%5Bafter%5D=abc")),
                  Reply(body=_page([ORG, second], more=False)))
    connector = make_connector(server.url, "support", page_size=1)
    got = collect(connector.extract(ORGANIZATIONS))[ORGANIZATIONS]
    assert got["id"].to_list() == ["7", "8"]
    assert connector.client.stats.duplicates_suppressed == 1
    first, then = server.requests
    assert first[1] == "/api/v2/organizations?page%5Bsize%5D=1"
    assert "page%5Bafter%5D=abc" in then[1]
    assert first[2]["authorization"] == f"Bearer {TOKENS.support}"


@pytest.mark.parametrize("body,fragment", [
    (_page([ORG], more=True), "no links.next"),
    (_page([], more=True, nxt="/api/v2/organizations?page%5Bafter%5D=x"), "no records"),
    ({"organizations": [ORG], "links": {}}, "meta.has_more"),
    ({"data": [ORG], "meta": {"has_more": False}}, "no organizations list"),
    ({"organizations": ["7"], "meta": {"has_more": False}}, "no organizations list"),
])
def test_answers_that_cannot_be_paged_fail_in_one_line(stub: Any, body: dict[str, Any],
                                                       fragment: str) -> None:
    server = stub(Reply(body=body))
    connector = make_connector(server.url, "support")
    with pytest.raises(SourceError, match=fragment) as info:
        collect(connector.extract(ORGANIZATIONS))
    assert "\n" not in str(info.value) and TOKENS.support not in str(info.value)


def test_records_before_updated_since_mean_the_filter_was_ignored(stub: Any) -> None:
    server = stub(Reply(body=_page([ORG], more=False)))
    connector = make_connector(server.url, "support")
    since = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    with pytest.raises(SourceError, match="before updated_since"):
        collect(connector.extract(ORGANIZATIONS, since))
    assert "updated_since=2025-06-01T00%3A00%3A00Z" in server.requests[0][1]


def test_zendesk_errors_are_named_and_retry_after_is_honoured(stub: Any) -> None:
    limited = Reply(status=429, headers={"Retry-After": "7"},
                    body={"error": "TooManyRequests", "description": "slow down"})
    server = stub(limited, Reply(body=_page([], more=False, key="service_credits")))
    sleeps = Sleeps()
    connector = make_connector(server.url, "support", sleep=sleeps)
    assert collect(connector.extract(SERVICE_CREDITS))[SERVICE_CREDITS].height == 0
    assert sleeps == [7.0]
    denied = stub(Reply(status=401, body={"error": "Unauthorized",
                                          "description": f"bad token {TOKENS.support}"}))
    with pytest.raises(SourceError) as info:
        collect(make_connector(denied.url, "support").extract(SERVICE_CREDITS))
    message = str(info.value)
    assert "HTTP 401" in message and "Unauthorized: bad token ***" in message
    assert TOKENS.support not in message and info.value.attempts == 1


def test_page_size_is_bounded_by_zendesk_limit(server: SandboxServer) -> None:
    with pytest.raises(ValueError, match=r"support page_size must be 1\.\.100"):
        make_connector(server.url, "support", page_size=101)
