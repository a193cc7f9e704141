"""The HTTP client: what is retried and how long, what fails at once, and that no token leaks."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import socket
from typing import Any

import pytest

from seeds.sandbox import SandboxServer
from tests.connectors.helpers import TOKENS, FakeClock, Reply, Sleeps, make_connector
from tieout.connectors import HttpClient, SourceError, auth_headers, connect, parse_retry_after
from tieout.connectors.erp import SUITEQL_PATH
from tieout.errors import InputError, TieoutError

WRONG = "wrong-token-d41d8cd98f00b204"
SYSTEM_PATHS = {"billing": "/v1/products", "erp": SUITEQL_PATH,
                "revrec": "/api/v1/revenue_schedules"}


def _assert_secret_free(error: BaseException, caplog: pytest.LogCaptureFixture,
                        *secrets: str) -> None:
    texts = [str(error), repr(error), *(str(v) for v in vars(error).values())]
    texts += [record.getMessage() for record in caplog.records]
    for secret in secrets:
        assert all(secret not in text for text in texts)
    # raised outside any except block: no requests exception (and its headers) attached
    assert error.__cause__ is None and error.__context__ is None


# ---- non-retryable ------------------------------------------------------------------------------
@pytest.mark.parametrize("system", ["billing", "erp", "revrec"])
def test_wrong_token_fails_at_once_without_leaking(
    system: str, server: SandboxServer, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sleeps = Sleeps()
    connector = connect(system, server.url, WRONG, sleep=sleeps)
    group = next(iter(connector.groups))
    with pytest.raises(SourceError) as info:
        next(connector.extract(group))
    error = info.value
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{system} ")
    assert "HTTP 401" in message and SYSTEM_PATHS[system] in message
    assert error.status == 401 and error.attempts == 1 and isinstance(error, TieoutError)
    assert connector.client.stats.requests == 1 and sleeps == []
    if system == "erp":
        assert "INVALID_LOGIN" in message
    _assert_secret_free(error, caplog, WRONG, getattr(TOKENS, system))


def test_bad_suiteql_is_a_400_at_once(server: SandboxServer,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    connector = make_connector(server.url, "erp")
    with pytest.raises(SourceError) as info:
        connector.client.post_json(SUITEQL_PATH, {"limit": 5}, {"q": "SELEC id FROM nowhere"})
    message = str(info.value)
    assert message.startswith("erp POST /services/rest/query/v1/suiteql failed: HTTP 400")
    assert "INVALID_SEARCH" in message and "\n" not in message
    assert connector.client.stats.requests == 1
    assert connector.client.stats.errors_by_status == {"400": 1}
    _assert_secret_free(info.value, caplog, TOKENS.erp)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 409, 422])
def test_client_errors_are_not_retried(status: int, stub: Any) -> None:
    server = stub(Reply(status, {"error": "nope", "detail": f"status {status}"}))
    sleeps = Sleeps()
    client = HttpClient("revrec", server.url, {"X-API-Key": "k" * 20}, sleep=sleeps)
    with pytest.raises(SourceError, match=rf"HTTP {status} .*nope: status {status}"):
        client.get_json("/api/v1/x")
    assert len(server.requests) == 1 and sleeps == []


def test_redirects_are_not_followed(stub: Any) -> None:
    """requests would carry X-API-Key to wherever a redirect points."""
    server = stub(Reply(302, b"", {"Location": "http://example.invalid/steal"}))
    client = HttpClient("revrec", server.url, {"X-API-Key": "k" * 20}, sleep=Sleeps())
    with pytest.raises(SourceError, match="HTTP 302"):
        client.get_json("/api/v1/x")
    assert len(server.requests) == 1


def test_token_echoed_by_the_server_is_scrubbed(stub: Any,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = stub(Reply(400, echo_auth=True))
    token = "sk_live_" + "9" * 24
    client = HttpClient("billing", server.url, auth_headers("billing", token), sleep=Sleeps())
    with pytest.raises(SourceError) as info:
        client.get_json("/v1/customers")
    assert "bad credentials: ***" in str(info.value)
    _assert_secret_free(info.value, caplog, token)
    assert token not in repr(client)


def test_links_to_another_host_are_refused(server: SandboxServer) -> None:
    client = make_connector(server.url, "revrec").client
    assert client.relative(f"{server.url}/api/v1/revenue_schedules?page=2&page_size=5") == (
        "/api/v1/revenue_schedules", {"page": "2", "page_size": "5"})
    assert client.relative("/v1/invoices/in_1/lines") == ("/v1/invoices/in_1/lines", {})
    with pytest.raises(SourceError, match="another host"):
        client.relative("http://evil.example/api/v1/revenue_schedules?page=2")


def test_connect_sends_each_systems_auth(stub: Any) -> None:
    server = stub(Reply(200, {"object": "list", "data": [], "has_more": False},),)
    for system, token in (("billing", "b" * 16), ("erp", "e" * 16), ("revrec", "r" * 16)):
        connector = connect(system, server.url, token)
        connector.client.get_json("/x")
    (_, _, billing), (_, _, erp), (_, _, revrec) = server.requests
    assert billing["authorization"] == "Bearer " + "b" * 16 and "x-api-key" not in billing
    assert erp["authorization"] == "Bearer " + "e" * 16 and erp["prefer"] == "transient"
    assert revrec["x-api-key"] == "r" * 16 and "authorization" not in revrec


def test_connect_rejects_bad_configuration() -> None:
    with pytest.raises(InputError, match="unknown source system 'stripe'"):
        connect("stripe", "http://127.0.0.1:1", "t" * 10)
    with pytest.raises(InputError, match="billing: no API token"):
        connect("billing", "http://127.0.0.1:1", "  ")
    with pytest.raises(InputError, match="not an http"):
        connect("billing", "ftp://127.0.0.1", "t" * 10)


# ---- retried ----------------------------------------------------------------------------------
def test_retry_after_seconds_are_honoured(make_server: Any) -> None:
    sandbox = make_server(faults="billing.customers:429=1.0,retry_after=3")
    sleeps = Sleeps()
    connector = make_connector(sandbox.url, "billing", sleep=sleeps, max_attempts=4)
    with pytest.raises(SourceError) as info:
        next(connector.extract("billing/customers"))
    assert sleeps == [3.0, 3.0, 3.0]
    assert info.value.attempts == 4 and info.value.status == 429
    message = str(info.value)
    assert message.startswith("billing GET /v1/customers failed after 4 attempts in ")
    assert "HTTP 429 Too Many Requests" in message
    assert "rate_limit" in message and "\n" not in message
    assert sandbox.request_counts["billing.customers"] == 4
    assert connector.client.stats.retries == 3
    assert connector.client.stats.errors_by_status == {"429": 4}


def test_retry_after_http_date_is_honoured(stub: Any) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    server = stub(
        Reply(503, {"error": "service_unavailable", "detail": "busy"},
              {"Retry-After": email.utils.format_datetime(when, usegmt=True)}),
        Reply(429, {}, {"Retry-After": "2"}),
        Reply(200, {"ok": True}),
    )
    sleeps = Sleeps()
    client = HttpClient("revrec", server.url, {"X-API-Key": "k" * 20}, sleep=sleeps)
    assert client.get_json("/api/v1/x") == {"ok": True}
    assert 27 <= sleeps[0] <= 31 and sleeps[1] == 2.0
    assert client.stats.retries == 2 and client.stats.requests == 3


def test_total_time_cap_ends_in_source_error(make_server: Any) -> None:
    sandbox = make_server(faults="erp.suiteql:503=1.0,retry_after=2")
    clock = FakeClock()
    connector = make_connector(sandbox.url, "erp", sleep=clock.sleep, clock=clock,
                               max_total_seconds=5)
    with pytest.raises(SourceError) as info:
        next(connector.extract("erp/currency"))
    assert clock.sleeps == [2.0, 2.0]  # a third wait would end past 5 s: not started
    assert info.value.attempts == 3 and "5 s limit" in str(info.value)
    assert "SERVICE_UNAVAILABLE" in str(info.value)


def test_retry_after_beyond_the_cap_is_not_waited_for(make_server: Any) -> None:
    sandbox = make_server(faults="revrec.schedules:429=1.0,retry_after=600")
    sleeps = Sleeps()
    connector = make_connector(sandbox.url, "revrec", sleep=sleeps)
    limit = r"after 1 attempt in 0\.0 s \(waiting 600\.0 s more would pass the 120 s limit\)"
    with pytest.raises(SourceError, match=limit):
        next(connector.extract("revrec/revenue_schedules"))
    assert sleeps == [] and connector.client.stats.requests == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_back_off_with_full_jitter(status: int, stub: Any) -> None:
    server = stub(*[Reply(status, {"error": {"message": "boom"}})] * 5, Reply(200, {"n": 1}))
    sleeps = Sleeps()
    client = HttpClient("billing", server.url, {"Authorization": "Bearer " + "t" * 20},
                        sleep=sleeps, random=random.Random(1), backoff_base=0.5, backoff_cap=3)
    assert client.get_json("/v1/x") == {"n": 1}
    assert len(sleeps) == 5
    for attempt, seconds in enumerate(sleeps, start=1):
        assert 0 <= seconds <= min(3, 0.5 * 2 ** (attempt - 1))
    assert client.stats.errors_by_status == {str(status): 5}


def test_truncated_200_is_retried(stub: Any) -> None:
    server = stub(Reply(200, b'{"data": [1, 2'), Reply(200, {"data": [1, 2, 3]}))
    client = HttpClient("billing", server.url, {"Authorization": "Bearer " + "t" * 20},
                        sleep=Sleeps())
    assert client.get_json("/v1/x") == {"data": [1, 2, 3]}
    assert client.stats.errors_by_status == {"truncated": 1}


def test_stripe_should_retry_false_wins(stub: Any) -> None:
    server = stub(Reply(503, {"error": {"message": "do not"}}, {"Stripe-Should-Retry": "false"}))
    client = HttpClient("billing", server.url, {"Authorization": "Bearer " + "t" * 20},
                        sleep=Sleeps())
    with pytest.raises(SourceError, match="HTTP 503"):
        client.get_json("/v1/x")
    assert len(server.requests) == 1


def test_dropped_connections_are_retried_then_capped(make_server: Any) -> None:
    sandbox = make_server(faults="billing.products:drop=1.0")
    sleeps = Sleeps()
    connector = make_connector(sandbox.url, "billing", sleep=sleeps, max_attempts=3)
    with pytest.raises(SourceError, match=r"failed after 3 attempts in .*: response cut off$"):
        next(connector.extract("billing/products"))
    assert len(sleeps) == 2 and connector.client.stats.errors_by_status == {"truncated": 3}


def test_connection_refused_is_retried_then_capped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    token = "rk_" + "7" * 24
    connector = connect("revrec", f"http://127.0.0.1:{port}", token, sleep=sleeps,
                        max_attempts=3)
    with pytest.raises(SourceError) as info:
        next(connector.extract("revrec/revenue_schedules"))
    message = str(info.value)
    assert message.startswith("revrec GET /api/v1/revenue_schedules failed after")
    assert "connection failed (Connection refused)" in message
    assert info.value.status is None and len(sleeps) == 2
    _assert_secret_free(info.value, caplog, token)


def test_read_timeouts_are_retried(stub: Any) -> None:
    server = stub(Reply(200, {"late": True}, delay=0.5), Reply(200, {"ok": True}))
    sleeps = Sleeps()
    client = HttpClient("erp", server.url, {"Authorization": "Bearer " + "t" * 20},
                        read_timeout=0.1, sleep=sleeps)
    assert client.get_json("/x") == {"ok": True}
    assert client.stats.errors_by_status == {"timeout": 1} and len(sleeps) == 1


def test_slow_answers_within_the_timeout_are_fine(make_server: Any) -> None:
    sandbox = make_server(faults="erp.suiteql:slow=1.0,slow_ms=30")
    connector = make_connector(sandbox.url, "erp")
    batches = list(connector.extract("erp/subsidiary"))
    assert sum(b.frame.height for b in batches) == 2
    assert connector.client.stats.retries == 0
    assert (connector.client.stats.latency_percentile(0.5) or 0) >= 30


# ---- units ------------------------------------------------------------------------------------
def test_parse_retry_after() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after(None) is None and parse_retry_after(" ") is None
    assert parse_retry_after("7") == 7.0 and parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:42 GMT", now) == 42.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None


def test_stats_summary() -> None:
    client = HttpClient("billing", "http://127.0.0.1:9", {"Authorization": "Bearer " + "x" * 12})
    for ms in (5.0, 1.0, 3.0, 100.0):
        client.stats.latencies_ms.append(ms)
    client.stats.count_records("billing/invoices", 7)
    summary = client.stats.as_dict()
    assert summary["latency_p50_ms"] == 3.0 and summary["latency_p95_ms"] == 100.0
    assert summary["records_by_table"] == {"billing/invoices": 7} and summary["records"] == 7
