"""Journal entries through the NetSuite-shaped record API: post, dedupe by externalId, read."""

from __future__ import annotations

from typing import Any

import pytest

from seeds.sandbox import SandboxServer

from .conftest import Client


def entry(external_id: str, *, tran_date: str = "2024-05-10", amount: Any = "125.40",
          **extra: Any) -> dict[str, Any]:
    body = {
        "externalId": external_id, "subsidiary": {"id": "1"}, "currency": {"id": "1"},
        "tranDate": tran_date, "memo": "usage 2024-05-10T10:00Z",
        "line": {"items": [
            {"account": {"id": "3"}, "debit": amount, "memo": "unbilled"},
            {"account": {"id": "6"}, "credit": amount, "memo": "usage revenue"},
        ]},
    }
    body.update(extra)
    return body


@pytest.fixture
def erp(make_server: Any, client_for: Any) -> tuple[SandboxServer, Client]:
    server = make_server()
    return server, client_for(server)


def error_detail(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.text
    return response.json()["o:errorDetails"][0]


def test_post_answers_204_with_location_and_is_visible_everywhere(erp: Any) -> None:
    server, client = erp
    response = client.post_journal(entry("batch-001"))
    assert response.status_code == 204
    assert response.content == b""
    location = response.headers["Location"]
    prefix = f"{server.url}/services/rest/record/v1/journalentry/"
    assert location.startswith(prefix)
    new_id = location.removeprefix(prefix)
    assert int(new_id) > 903

    by_id = client.get_journal(new_id).json()
    by_eid = client.get_journal("eid:batch-001").json()
    assert by_id == by_eid
    assert by_eid["externalId"] == "batch-001"
    assert by_eid["tranDate"] == "2024-05-10"
    assert by_eid["postingPeriod"] == {"id": "5", "refName": "May 2024"}
    assert by_eid["subsidiary"] == {"id": "1", "refName": "Acme US Inc"}
    assert by_eid["currency"]["id"] == "1"
    lines = by_eid["line"]["items"]
    assert [(line["account"]["id"], line.get("debit"), line.get("credit")) for line in lines] == [
        ("3", 125.4, None), ("6", None, 125.4)]

    rows = client.suiteql(
        "SELECT t.id, t.type, t.foreigntotal, t.postingperiod, t.status, l.account,"
        " l.foreignamount, l.mainline FROM transaction t JOIN transactionline l"
        " ON l.transaction = t.id WHERE t.externalid = 'batch-001'"
        " ORDER BY l.linesequencenumber").json()["items"]
    assert [(r["type"], r["foreigntotal"], r["postingperiod"], r["account"], r["foreignamount"],
             r["mainline"]) for r in rows] == [
        ("Journal", "125.4", "5", "3", "125.4", "F"),
        ("Journal", "125.4", "5", "6", "-125.4", "F")]
    assert {r["id"] for r in rows} == {new_id}


def test_same_external_id_twice_creates_one_entry(erp: Any) -> None:
    _, client = erp
    assert client.post_journal(entry("batch-dup")).status_code == 204
    again = client.post_journal(entry("batch-dup", amount=99))
    detail = error_detail(again)
    assert detail["o:errorCode"] == "DUP_RCRD"
    assert "batch-dup" in detail["detail"]
    count = client.suiteql("SELECT COUNT(*) AS n FROM transaction"
                           " WHERE externalid = 'batch-dup'").json()["items"][0]["n"]
    assert count == "1"
    assert client.get_journal("eid:batch-dup").json()["line"]["items"][0]["debit"] == 125.4


def test_existing_journal_can_be_looked_up(erp: Any) -> None:
    _, client = erp
    record = client.get_journal("eid:usage-2024-04-US").json()
    assert record["id"] == "901" and record["tranId"] == "JE901"
    assert client.post_journal(entry("usage-2024-04-US")).status_code == 400


@pytest.mark.parametrize("body,fragment,code", [
    ({"line": {"items": [{"account": {"id": "3"}, "debit": "10.00"},
                         {"account": {"id": "6"}, "credit": "9.99"}]}}, "out of balance",
     "USER_ERROR"),
    ({"tranDate": "2024-02-10"}, "closed", "INVALID_FLD_VALUE"),
    ({"postingPeriod": {"id": "2"}}, "closed", "INVALID_FLD_VALUE"),
    ({"postingPeriod": {"id": "13"}}, "summary period", "INVALID_FLD_VALUE"),
    ({"postingPeriod": {"id": "99"}}, "postingPeriod", "INVALID_KEY_OR_REF"),
    ({"tranDate": "2031-01-01"}, "No accounting period", "INVALID_FLD_VALUE"),
    ({"subsidiary": {"id": "7"}}, "subsidiary", "INVALID_KEY_OR_REF"),
    ({"currency": {"id": "9"}}, "currency", "INVALID_KEY_OR_REF"),
    ({"line": {"items": [{"account": {"id": "42"}, "debit": 1},
                         {"account": {"id": "6"}, "credit": 1}]}}, "account", "INVALID_KEY_OR_REF"),
    ({"line": {"items": [{"account": {"id": "3"}, "debit": "1.005"},
                         {"account": {"id": "6"}, "credit": "1.005"}]}}, "two decimal",
     "INVALID_FLD_VALUE"),
    ({"line": {"items": [{"account": {"id": "3"}, "debit": 1, "credit": 1}]}}, "exactly one",
     "INVALID_FLD_VALUE"),
    ({"tranDate": "10/05/2024"}, "YYYY-MM-DD", "INVALID_FLD_VALUE"),
    ({"externalId": ""}, "externalId", "USER_ERROR"),
    ({"line": {"items": []}}, "line.items", "USER_ERROR"),
    ({"subsidiary": None}, "subsidiary", "USER_ERROR"),
])
def test_invalid_entries_are_rejected_and_not_inserted(erp: Any, body: dict[str, Any],
                                                        fragment: str, code: str) -> None:
    _, client = erp
    payload = entry("batch-bad")
    payload.update(body)
    detail = error_detail(client.post_journal(payload))
    assert fragment in detail["detail"]
    assert detail["o:errorCode"] == code
    assert client.get_journal("eid:batch-bad").status_code == 404
    count = client.suiteql("SELECT COUNT(*) AS n FROM transaction WHERE externalid = 'batch-bad'")
    assert count.json()["items"][0]["n"] == "0"


def test_numbers_and_multi_line_entries(erp: Any) -> None:
    _, client = erp
    body = entry("batch-multi", tran_date="2024-06-30")
    body["line"]["items"] = [
        {"account": {"id": "3"}, "debit": 10},
        {"account": {"id": "3"}, "debit": "0.5"},
        {"account": {"id": "6"}, "credit": 10.5},
    ]
    assert client.post_journal(body).status_code == 204
    record = client.get_journal("eid:batch-multi").json()
    assert record["postingPeriod"]["id"] == "6"
    assert [line["line"] for line in record["line"]["items"]] == [0, 1, 2]


def test_lookup_misses_are_404_in_erp_shape(erp: Any) -> None:
    _, client = erp
    for key in ("eid:nope", "123456", "not-a-number"):
        response = client.get_journal(key)
        assert response.status_code == 404
        assert response.json()["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"
    assert client.get_journal("501").status_code == 404  # an invoice, not a journal entry
