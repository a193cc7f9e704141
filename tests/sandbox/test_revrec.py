"""Revrec schedules: page numbers, (updated_at, id) order, nested lines, updated_since."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from seeds.tables import SCHEMAS

from .conftest import Client, read_table


def all_pages(client: Client, **params: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    page = 1
    while True:
        response = client.revrec(page=page, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        results.extend(body["results"])
        if body["next"] is None:
            return results
        page += 1


def as_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def test_every_schedule_once_in_order_with_lines(client: Client, company: Path) -> None:
    served = all_pages(client, page_size=7)
    expected = read_table(company, "revrec/revenue_schedules").sort(["updated_at", "id"])
    assert [s["id"] for s in served] == expected["id"].to_list()
    lines = read_table(company, "revrec/revenue_schedule_lines").sort(
        ["schedule_id", "line_number"])
    by_schedule: dict[str, list[dict[str, Any]]] = {}
    for row in lines.to_dicts():
        by_schedule.setdefault(row.pop("schedule_id"), []).append(row)
    for schedule, row in zip(served, expected.to_dicts(), strict=True):
        assert {key: schedule[key] for key in SCHEMAS["revrec/revenue_schedules"]} == {
            key: as_json(value) for key, value in row.items()}
        assert schedule["lines"] == by_schedule[schedule["id"]]


def test_page_links_and_counts(client: Client) -> None:
    first = client.revrec(page_size=25).json()
    assert first["count"] == 60 and first["page"] == 1 and first["previous"] is None
    assert first["next"] == f"{client.url}/api/v1/revenue_schedules?page_size=25&page=2"
    last = client.revrec(page=3, page_size=25).json()
    assert len(last["results"]) == 10 and last["next"] is None
    assert "page=2&" in last["previous"]
    assert len(client.revrec().json()["results"]) == 60  # default page_size 100


def test_updated_since_is_inclusive(client: Client, company: Path) -> None:
    frame = read_table(company, "revrec/revenue_schedules")
    since = dt.datetime(2024, 1, 1, 2, 46, 40, tzinfo=dt.UTC)  # base + 10000 s: an exact value
    served = all_pages(client, page_size=4, updated_since="2024-01-01T02:46:40Z")
    expected = frame.filter(frame["updated_at"] >= since).sort(["updated_at", "id"])
    assert expected.height and [s["id"] for s in served] == expected["id"].to_list()
    offset = all_pages(client, page_size=50, updated_since="2024-01-01T03:46:40+01:00")
    assert [s["id"] for s in offset] == expected["id"].to_list()


@pytest.mark.parametrize("params,status", [
    ({"page_size": 0}, 400), ({"page_size": 501}, 400), ({"page": 0}, 400),
    ({"page": "two"}, 400), ({"updated_since": "last tuesday"}, 400), ({"page": 99}, 404),
])
def test_bad_parameters(client: Client, params: dict[str, Any], status: int) -> None:
    response = client.revrec(**params)
    assert response.status_code == status
    assert set(response.json()) == {"error", "detail"}


def test_empty_result_is_page_one(client: Client) -> None:
    body = client.revrec(updated_since="2031-01-01T00:00:00Z").json()
    assert body == {"count": 0, "page": 1, "next": None, "previous": None, "results": []}
    assert client.revrec(page_size=500).status_code == 200
