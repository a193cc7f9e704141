"""Stripe-shaped billing lists: every record once, newest first, lines complete, errors shaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seeds.tables import SCHEMAS

from .conftest import EMBED, Client, read_table


def page_all(client: Client, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = dict(params, limit=limit)
        if cursor:
            query["starting_after"] = cursor
        response = client.billing(path, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "list"
        assert body["url"] == path
        assert len(body["data"]) <= limit
        out.extend(body["data"])
        if not body["has_more"]:
            return out
        cursor = body["data"][-1]["id"]
    raise AssertionError("pagination did not end")


def expected_order(company: Path, name: str) -> list[dict[str, Any]]:
    frame = read_table(company, name).sort(["created", "id"], descending=True)
    return frame.to_dicts()


def contract_fields(record: dict[str, Any], name: str) -> dict[str, Any]:
    return {column: record[column] for column in SCHEMAS[name]}


@pytest.mark.parametrize("resource,obj", [
    ("customers", "customer"), ("subscriptions", "subscription"), ("invoices", "invoice"),
    ("credit_notes", "credit_note"), ("products", "product"), ("prices", "price"),
])
def test_every_record_served_once_newest_first(client: Client, company: Path, resource: str,
                                               obj: str) -> None:
    served = page_all(client, f"/v1/{resource}", limit=7)
    expected = expected_order(company, f"billing/{resource}")
    assert [r["id"] for r in served] == [r["id"] for r in expected]
    for record, row in zip(served, expected, strict=True):
        assert record["object"] == obj
        assert contract_fields(record, f"billing/{resource}") == row


def lines_of(client: Client, parent: dict[str, Any], limit: int = 4) -> list[dict[str, Any]]:
    embedded = parent["lines"]
    assert embedded["object"] == "list"
    assert len(embedded["data"]) <= EMBED
    lines = list(embedded["data"])
    if embedded["has_more"]:
        assert len(embedded["data"]) == EMBED
        lines.extend(page_all(client, embedded["url"], limit=limit,
                              starting_after=lines[-1]["id"]))
    return lines


def test_invoice_lines_embedded_and_paginated_completely(client: Client, company: Path) -> None:
    invoices = page_all(client, "/v1/invoices", limit=9)
    expected_lines = read_table(company, "billing/invoice_lines").sort(["invoice", "line_number"])
    by_invoice: dict[str, list[dict[str, Any]]] = {}
    for row in expected_lines.to_dicts():
        by_invoice.setdefault(row["invoice"], []).append(row)
    long_ones = 0
    for invoice in invoices:
        assert invoice["lines"]["url"] == f"/v1/invoices/{invoice['id']}/lines"
        want = by_invoice[invoice["id"]]
        assert invoice["lines"]["has_more"] == (len(want) > EMBED)
        long_ones += invoice["lines"]["has_more"]
        got = lines_of(client, invoice)
        assert [line["id"] for line in got] == [row["id"] for row in want]
        for line, row in zip(got, want, strict=True):
            assert line["object"] == "line_item"
            assert contract_fields(line, "billing/invoice_lines") == row
    assert long_ones >= 3  # the fixture has invoices with 11, 12 and 25 lines


def test_credit_note_lines_and_subscription_items(client: Client, company: Path) -> None:
    notes = page_all(client, "/v1/credit_notes", limit=3)
    note_lines = read_table(company, "billing/credit_note_lines").sort("id").to_dicts()
    served = [line for note in notes for line in lines_of(client, note, limit=5)]
    assert sorted(line["id"] for line in served) == [row["id"] for row in note_lines]
    assert any(note["lines"]["has_more"] for note in notes)

    subscriptions = page_all(client, "/v1/subscriptions", limit=4)
    items = read_table(company, "billing/subscription_items").sort("id").to_dicts()
    served_items = [item for sub in subscriptions for item in sub["items"]["data"]]
    assert sorted(item["id"] for item in served_items) == [row["id"] for row in items]
    for sub in subscriptions:
        assert sub["items"]["has_more"] is False
        assert all(item["subscription"] == sub["id"] for item in sub["items"]["data"])
        assert all(item["object"] == "subscription_item" for item in sub["items"]["data"])
    cancel = {sub["id"]: sub["cancel_at_period_end"] for sub in subscriptions}
    assert cancel["sub_003"] is True and cancel["sub_001"] is False


def test_ending_before_returns_the_previous_page(client: Client) -> None:
    first = client.billing("/v1/invoices", limit=5).json()
    second = client.billing("/v1/invoices", limit=5,
                            starting_after=first["data"][-1]["id"]).json()
    back = client.billing("/v1/invoices", limit=5, ending_before=second["data"][0]["id"]).json()
    assert [r["id"] for r in back["data"]] == [r["id"] for r in first["data"]]
    assert back["has_more"] is False
    middle = client.billing("/v1/invoices", limit=2, ending_before=second["data"][0]["id"]).json()
    assert [r["id"] for r in middle["data"]] == [r["id"] for r in first["data"][-2:]]
    assert middle["has_more"] is True


def test_created_and_updated_filters(client: Client, company: Path) -> None:
    frame = read_table(company, "billing/invoices")
    low, high = 1_704_067_200 + 3 * 86400, 1_704_067_200 + 8 * 86400
    served = page_all(client, "/v1/invoices", limit=4,
                      **{"created[gte]": low, "created[lte]": high})
    want = frame.filter((frame["created"] >= low) & (frame["created"] <= high))
    assert sorted(r["id"] for r in served) == sorted(want["id"].to_list())
    assert served and all(low <= r["created"] <= high for r in served)
    updated = page_all(client, "/v1/invoices", limit=4, **{"updated[gte]": high})
    assert sorted(r["id"] for r in updated) == sorted(
        frame.filter(frame["updated"] >= high)["id"].to_list())
    by_customer = page_all(client, "/v1/invoices", limit=100, customer="cus_002")
    assert {r["customer"] for r in by_customer} == {"cus_002"}
    assert len(by_customer) == frame.filter(frame["customer"] == "cus_002").height


def test_currency_stays_lowercase_and_money_is_integer(client: Client) -> None:
    body = client.billing("/v1/invoices", limit=3).json()
    for invoice in body["data"]:
        assert invoice["currency"] == "usd"
        assert isinstance(invoice["total"], int)
        assert isinstance(invoice["created"], int)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_limit_out_of_range_is_stripe_400(client: Client, limit: str) -> None:
    response = client.billing("/v1/invoices", limit=limit)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "parameter_invalid_integer"
    assert error["param"] == "limit"
    assert set(error) == {"type", "code", "message", "param"}


def test_limit_bounds_accepted(client: Client) -> None:
    assert len(client.billing("/v1/invoices", limit=1).json()["data"]) == 1
    assert len(client.billing("/v1/invoices", limit=100).json()["data"]) == 40
    assert len(client.billing("/v1/invoices").json()["data"]) == 10  # default


def test_cursor_and_parameter_errors(client: Client) -> None:
    response = client.billing("/v1/invoices", starting_after="in_nope")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "resource_missing"
    assert response.json()["error"]["param"] == "starting_after"
    response = client.billing("/v1/invoices", ending_before="in_nope")
    assert response.json()["error"]["code"] == "resource_missing"
    response = client.billing("/v1/invoices", bogus="1")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_unknown"
    response = client.billing("/v1/invoices", starting_after="in_0001", ending_before="in_0002")
    assert response.status_code == 400
    response = client.billing("/v1/invoices", **{"created[gte]": "yesterday"})
    assert response.json()["error"]["param"] == "created[gte]"
    response = client.billing("/v1/invoices/in_nope/lines")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    response = client.billing("/v1/invoices/in_0005/lines", starting_after="il_0001_01")
    assert response.status_code == 400


def test_unknown_path_is_404_json(client: Client) -> None:
    response = client.billing("/v1/charges")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["type"] == "invalid_request_error"
    response = client.session.get(f"{client.url}/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    response = client.session.post(f"{client.url}/v1/invoices",
                                   headers={"Authorization": "Bearer bill-s3cret-token"})
    assert response.status_code == 405
