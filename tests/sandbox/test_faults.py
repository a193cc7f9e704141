"""Fault injection: the spec grammar, each fault mode, and reproducibility by seed."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import requests

from seeds.sandbox import FaultSpecError, SandboxServer, parse_fault_spec
from seeds.sandbox.faults import FaultInjector, draw

from .conftest import TOKENS, Client
from .test_journal import entry

BRIEF_SPEC = ("billing.invoices:429=0.2,erp.suiteql:503=0.1,*:slow=0.05,"
              "erp.journalentry:commit_timeout=0.3,billing.*:drop=0.05,"
              "billing.invoices:duplicate=0.1,revrec.schedules:mutate=0.1")


# ---- grammar ------------------------------------------------------------------------------------
def test_spec_parses_and_most_specific_rule_wins() -> None:
    spec = parse_fault_spec(BRIEF_SPEC + ", slow_ms=200, retry_after=2")
    assert spec.slow_ms == 200 and spec.retry_after == 2
    assert spec.rate("billing.invoices", "429") == 0.2
    assert spec.rate("billing.customers", "429") == 0.0
    assert spec.rate("billing.customers", "drop") == 0.05
    assert spec.rate("revrec.schedules", "slow") == 0.05
    assert spec.rate("erp.suiteql", "commit_timeout") == 0.0
    layered = parse_fault_spec("*:500=0.1,billing.*:500=0.2,billing.prices:500=0.3")
    assert [layered.rate(e, "500") for e in ("erp.suiteql", "billing.invoices",
                                             "billing.prices")] == [0.1, 0.2, 0.3]
    # wildcards skip kinds that do not apply
    wild = parse_fault_spec("*:mutate=1,*:commit_timeout=1")
    assert wild.rate("billing.invoice_lines", "mutate") == 0.0
    assert wild.rate("erp.journalentry", "mutate") == 0.0
    assert wild.rate("erp.journalentry", "commit_timeout") == 1.0
    assert parse_fault_spec(None).empty and parse_fault_spec(" ").empty


@pytest.mark.parametrize("spec,fragment", [
    ("billing.invoice:429=0.1", "billing.invoice"),
    ("billing.invoices:418=0.1", "418"),
    ("billing.invoices:429=1.5", "1.5"),
    ("billing.invoices:429=lots", "lots"),
    ("billing.invoices:429", "billing.invoices:429"),
    ("billing.invoices:commit_timeout=0.1", "commit_timeout"),
    ("erp.journalentry:duplicate=0.1", "duplicate"),
    ("billing.invoice_lines:mutate=0.1", "mutate"),
    ("crm.*:500=0.1", "crm.*"),
    ("slow_ms=fast", "slow_ms"),
    ("speed=3", "speed"),
    ("*:500=0.1,*:500=0.2", "twice"),
])
def test_bad_specs_name_the_bad_part(spec: str, fragment: str) -> None:
    with pytest.raises(FaultSpecError) as info:
        parse_fault_spec(spec)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_spec_fails_in_the_constructor(company: Any) -> None:
    with pytest.raises(FaultSpecError):
        SandboxServer(company, tokens=TOKENS, faults="nonsense")


def test_decisions_are_a_pure_function_of_seed_endpoint_and_counter() -> None:
    spec = parse_fault_spec("*:500=0.3,*:slow=0.3")
    a, b, c = FaultInjector(spec, seed=1), FaultInjector(spec, seed=1), FaultInjector(spec, 2)
    plans_a = [a.plan("erp.suiteql").kinds for _ in range(200)]
    # interleaving other endpoints does not shift this endpoint's sequence
    plans_b = []
    for _ in range(200):
        b.plan("billing.invoices")
        plans_b.append(b.plan("erp.suiteql").kinds)
    plans_c = [c.plan("erp.suiteql").kinds for _ in range(200)]
    assert plans_a == plans_b
    assert plans_a != plans_c
    hits = sum("500" in kinds for kinds in plans_a)
    assert 30 < hits < 90
    assert draw(1, "erp.suiteql", 5, "500") == draw(1, "erp.suiteql", 5, "500")


# ---- modes --------------------------------------------------------------------------------------
def test_429_has_retry_after_and_is_logged(make_server: Any, client_for: Any) -> None:
    server = make_server(faults="billing.invoices:429=1,retry_after=3")
    client = client_for(server)
    response = client.billing("/v1/invoices")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.headers["Stripe-Should-Retry"] == "true"
    assert response.json()["error"]["code"] == "rate_limit"
    assert client.billing("/v1/customers").status_code == 200
    assert server.fault_counts == Counter({("billing.invoices", "429"): 1})
    assert [(e.endpoint, e.request_no, e.kind) for e in server.fault_log] == [
        ("billing.invoices", 1, "429")]


def test_5xx_in_each_system_shape(make_server: Any, client_for: Any) -> None:
    server = make_server(faults="erp.suiteql:503=1,revrec.*:500=1,billing.prices:500=1")
    client = client_for(server)
    erp = client.suiteql("SELECT id FROM account")
    assert erp.status_code == 503 and erp.headers["Retry-After"] == "1"
    assert erp.json()["o:errorDetails"][0]["o:errorCode"] == "SERVICE_UNAVAILABLE"
    revrec = client.revrec()
    assert revrec.status_code == 500 and revrec.json()["error"] == "server_error"
    billing = client.billing("/v1/prices")
    assert billing.status_code == 500 and billing.json()["error"]["type"] == "api_error"


def test_503_on_journal_post_commits_nothing(make_server: Any, client_for: Any) -> None:
    server = make_server(faults="erp.journalentry:503=1")
    client = client_for(server)
    assert client.post_journal(entry("batch-503")).status_code == 503
    assert client.get_journal("eid:batch-503").status_code == 404


def test_slow_delays_the_answer(make_server: Any, client_for: Any) -> None:
    server = make_server(faults="revrec.schedules:slow=1,slow_ms=400")
    client = client_for(server)
    started = time.perf_counter()
    assert client.revrec(page_size=1).status_code == 200
    assert time.perf_counter() - started >= 0.4
    started = time.perf_counter()
    assert client.billing("/v1/products").status_code == 200
    assert time.perf_counter() - started < 0.4
    assert server.fault_counts[("revrec.schedules", "slow")] == 1


@pytest.mark.parametrize("endpoint,call", [
    ("billing.invoices", lambda c: c.billing("/v1/invoices", limit=50)),
    ("erp.suiteql", lambda c: c.suiteql("SELECT * FROM transaction")),
    ("revrec.schedules", lambda c: c.revrec()),
])
def test_drop_gives_an_incomplete_response(make_server: Any, client_for: Any, endpoint: str,
                                           call: Any) -> None:
    server = make_server(faults=f"{endpoint}:drop=1")
    client = client_for(server)
    with pytest.raises((requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ConnectionError)):
        call(client).json()
    assert server.fault_counts[(endpoint, "drop")] == 1
    # the same session keeps working afterwards (a new connection is opened)
    assert client.billing("/v1/products").status_code == 200


def test_commit_timeout_commits_but_never_answers(make_server: Any, client_for: Any) -> None:
    server = make_server(faults="erp.journalentry:commit_timeout=1,hang_ms=5000")
    client = client_for(server)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.post_journal(entry("batch-lost"), timeout=0.5)
    record = client.get_journal("eid:batch-lost")
    assert record.status_code == 200
    assert record.json()["externalId"] == "batch-lost"
    assert server.fault_counts[("erp.journalentry", "commit_timeout")] == 1
    # a blind retry is refused (no second entry); the poster should have looked it up
    retry = client.post_journal(entry("batch-lost"), timeout=5)
    assert retry.status_code == 400
    assert retry.json()["o:errorDetails"][0]["o:errorCode"] == "DUP_RCRD"
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.post_journal(entry("batch-lost-2"), timeout=0.3)
    started = time.perf_counter()
    server.stop()  # a hanging handler must not hold up shutdown
    assert time.perf_counter() - started < 3


def page_ids(client: Client, path: str, limit: int) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["starting_after"] = cursor
        body = client.billing(path, **params).json()
        pages += 1
        ids.extend(record["id"] for record in body["data"])
        if not body["has_more"]:
            return ids, pages
        cursor = body["data"][-1]["id"]


def test_dropped_journal_post_was_committed(make_server: Any, client_for: Any) -> None:
    server = make_server(faults="erp.journalentry:drop=1")
    client = client_for(server)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.post_journal(entry("batch-dropped"))
    assert client.get_journal("eid:batch-dropped").status_code == 200
    assert server.fault_counts[("erp.journalentry", "drop")] == 1


def test_duplicate_repeats_the_previous_pages_last_record(make_server: Any, client_for: Any,
                                                          company: Any) -> None:
    server = make_server(faults="billing.invoices:duplicate=1,billing.invoice_lines:duplicate=1")
    client = client_for(server)
    first = client.billing("/v1/invoices", limit=6).json()
    second = client.billing("/v1/invoices", limit=6,
                            starting_after=first["data"][-1]["id"]).json()
    assert second["data"][0] == first["data"][-1]
    assert len(second["data"]) == 7
    ids, pages = page_ids(client, "/v1/invoices", limit=6)
    assert len(ids) == 40 + pages - 1
    assert len(set(ids)) == 40
    lines = client.billing("/v1/invoices/in_0005/lines", limit=10,
                           starting_after="il_0005_10").json()
    assert [line["id"] for line in lines["data"]][:2] == ["il_0005_10", "il_0005_11"]
    assert server.fault_counts[("billing.invoices", "duplicate")] == pages  # + the one above


def test_duplicate_in_suiteql_and_revrec(make_server: Any, client_for: Any) -> None:
    server = make_server(faults="erp.suiteql:duplicate=1,revrec.schedules:duplicate=1")
    client = client_for(server)
    q = "SELECT id FROM transaction ORDER BY id"
    first = client.suiteql(q, limit=10).json()
    second = client.suiteql(q, limit=10, offset=10).json()
    assert second["items"][0] == first["items"][-1] and second["count"] == 11
    assert second["hasMore"] is True and second["totalResults"] == 43
    page1 = client.revrec(page_size=5).json()["results"]
    page2 = client.revrec(page_size=5, page=2).json()["results"]
    assert page2[0] == page1[-1] and len(page2) == 6
    assert server.fault_counts == Counter({("erp.suiteql", "duplicate"): 1,
                                           ("revrec.schedules", "duplicate"): 1})


def test_mutate_bumps_billing_updated_only(make_server: Any, client_for: Any) -> None:
    server = make_server(faults="billing.invoices:mutate=1")
    client = client_for(server)
    first = client.billing("/v1/invoices", limit=5).json()["data"]
    target = first[-1]
    before = time.time()
    client.billing("/v1/invoices", limit=5, starting_after=target["id"])
    again = client.billing("/v1/invoices", limit=5).json()["data"][-1]
    assert again["id"] == target["id"]
    assert again["updated"] >= int(before) and again["updated"] > target["updated"]
    assert {k: v for k, v in again.items() if k != "updated"} == {
        k: v for k, v in target.items() if k != "updated"}
    assert server.fault_counts[("billing.invoices", "mutate")] == 1


def test_mutate_in_revrec_reserves_the_record_at_the_end(make_server: Any,
                                                         client_for: Any) -> None:
    server = make_server(faults="revrec.schedules:mutate=1")
    client = client_for(server)
    served: list[dict[str, Any]] = []
    page = 1
    while True:
        body = client.revrec(page=page, page_size=10).json()
        served.extend(body["results"])
        if body["next"] is None:
            break
        page += 1
    counts = Counter(s["id"] for s in served)
    bumped = [sid for sid, n in counts.items() if n == 2]
    assert len(bumped) == 5  # one per page after the first, each served again at the end
    for sid in bumped:
        copies = [s for s in served if s["id"] == sid]
        assert copies[1]["updated_at"] > copies[0]["updated_at"]
        assert {k: v for k, v in copies[0].items() if k != "updated_at"} == {
            k: v for k, v in copies[1].items() if k != "updated_at"}
    # as documented: page-number paging over a changing order skips records...
    assert len(counts) < 60
    # ...and a client that pages by updated_since (always page 1) sees all of them
    seen: dict[str, str] = {}
    since = "2000-01-01T00:00:00Z"
    while True:
        body = client.revrec(page_size=10, updated_since=since).json()
        fresh = [s for s in body["results"] if seen.get(s["id"]) != s["updated_at"]]
        for s in body["results"]:
            seen[s["id"]] = s["updated_at"]
        if not fresh or body["next"] is None:
            break
        since = body["results"][-1]["updated_at"]
    assert len(seen) == 60


def test_mutate_in_suiteql_bumps_lastmodifieddate(make_server: Any, client_for: Any) -> None:
    server = make_server(faults="erp.suiteql:mutate=1")
    client = client_for(server)
    q = "SELECT id, lastmodifieddate, foreigntotal FROM transaction ORDER BY id"
    first = client.suiteql(q, limit=5).json()["items"]
    client.suiteql(q, limit=5, offset=5)
    again = client.suiteql(q, limit=5).json()["items"]
    assert again[-1]["id"] == first[-1]["id"]
    assert again[-1]["lastmodifieddate"] > first[-1]["lastmodifieddate"]
    assert again[-1]["foreigntotal"] == first[-1]["foreigntotal"]
    assert again[:-1] == first[:-1]
    assert server.fault_counts[("erp.suiteql", "mutate")] == 1
    # not applicable when the outer FROM has no modification date: nothing logged
    client.suiteql("SELECT id FROM account ORDER BY id", limit=2, offset=2)
    assert server.fault_counts[("erp.suiteql", "mutate")] == 1


# ---- reproducibility ----------------------------------------------------------------------------
def run_sequence(server: SandboxServer, client: Client) -> list[tuple[str, int]]:
    observed: list[tuple[str, int]] = []
    for _ in range(12):
        observed.append(("inv", client.billing("/v1/invoices", limit=3).status_code))
        observed.append(("q", client.suiteql("SELECT id FROM account").status_code))
        observed.append(("rev", client.revrec(page_size=2).status_code))
    return observed


def test_same_seed_same_faults(make_server: Any, client_for: Any) -> None:
    spec = "billing.invoices:429=0.3,erp.suiteql:500=0.3,revrec.*:503=0.3"
    a = make_server(faults=spec, seed=11)
    b = make_server(faults=spec, seed=11)
    c = make_server(faults=spec, seed=12)
    seen_a = run_sequence(a, client_for(a))
    seen_b = run_sequence(b, client_for(b))
    seen_c = run_sequence(c, client_for(c))
    assert seen_a == seen_b
    assert a.fault_log == b.fault_log
    assert a.fault_log != c.fault_log and seen_a != seen_c
    injected = Counter(kind for _, kind in ((e.endpoint, e.kind) for e in a.fault_log))
    observed = Counter(status for _, status in seen_a if status != 200)
    assert injected == Counter({str(k): v for k, v in observed.items()})
    assert a.request_counts == Counter({"billing.invoices": 12, "erp.suiteql": 12,
                                        "revrec.schedules": 12})
