"""Support (Zendesk-shaped): cursor pages in (updated_at, id) order, organization_fields,
updated_since, auth and error shapes, faults, and companies without support data."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests

from seeds.sandbox import DataDirError, SandboxServer, SandboxTokens
from seeds.sandbox.support_api import ENTITLEMENT_FIELDS, encode_cursor

from .conftest import TOKENS, Client, read_table

ORGS = "support/organizations"
CREDITS = "support/service_credits"
RESOURCES = [("organizations", ORGS), ("service_credits", CREDITS)]


def all_pages(client: Client, resource: str, **params: Any) -> list[dict[str, Any]]:
    """Every record, following ``links.next`` while ``meta.has_more``."""
    served: list[dict[str, Any]] = []
    response = client.support(resource, **params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        served.extend(body[resource])
        if not body["meta"]["has_more"]:
            assert body["links"]["next"] is None
            return served
        response = client.session.get(body["links"]["next"], timeout=10, headers={
            "Authorization": f"Bearer {TOKENS.support}"})


def as_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if value.microsecond else "%Y-%m-%dT%H:%M:%SZ"
        return value.strftime(pattern)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def ordered(company: Path, table: str) -> pl.DataFrame:
    return read_table(company, table).sort(["updated_at", "id"], nulls_last=False)


@pytest.mark.parametrize("resource,table", RESOURCES)
@pytest.mark.parametrize("size", [1, 7, 100])
def test_every_record_once_in_updated_at_id_order(client: Client, company: Path,
                                                  resource: str, table: str,
                                                  size: int) -> None:
    served = all_pages(client, resource, size=size)
    expected = ordered(company, table)
    assert [r["id"] for r in served] == expected["id"].to_list()


def test_organizations_carry_the_entitlement_in_organization_fields(client: Client,
                                                                    company: Path) -> None:
    served = {o["id"]: o for o in all_pages(client, "organizations")}
    for row in read_table(company, ORGS).to_dicts():
        org = served[row["id"]]
        assert org["url"] == f"{client.url}/api/v2/organizations/{row['id']}.json"
        assert {k: org[k] for k in ("name", "external_id", "created_at", "updated_at")} == {
            k: as_json(row[k]) for k in ("name", "external_id", "created_at", "updated_at")}
        fields = org["organization_fields"]
        assert set(fields) == set(ENTITLEMENT_FIELDS)
        products = row["covered_products"]
        assert fields["covered_products"] == (products.split(",") if products else [])
        assert {k: fields[k] for k in ENTITLEMENT_FIELDS if k != "covered_products"} == {
            k: as_json(row[k]) for k in ENTITLEMENT_FIELDS if k != "covered_products"}
    assert served[360_000_011]["organization_fields"]["covered_products"] == []  # "" in store
    assert served[360_000_007]["external_id"] is None


def test_service_credits_are_flat_with_decimal_string_amounts(client: Client,
                                                              company: Path) -> None:
    served = {c["id"]: c for c in all_pages(client, "service_credits", size=10)}
    for row in read_table(company, CREDITS).to_dicts():
        credit = served[row["id"]]
        assert {k: credit[k] for k in row} == {k: as_json(v) for k, v in row.items()}
        assert isinstance(credit["amount"], str)
    assert any(c["currency"] == "JPY" and "." not in c["amount"] for c in served.values())


def test_meta_and_links(client: Client, company: Path) -> None:
    expected = ordered(company, ORGS)
    first = client.support("organizations", size=25).json()
    assert set(first) == {"organizations", "meta", "links"}
    assert first["meta"]["has_more"] is True and first["links"]["prev"] is None
    last_key = tuple(expected.select("updated_at", "id").row(24))
    stamp = last_key[0].replace(tzinfo=None)
    assert first["meta"]["after_cursor"] == encode_cursor((stamp, last_key[1]))
    assert first["links"]["next"].startswith(f"{client.url}/api/v2/organizations?")
    second = client.support("organizations", size=25,
                            after=first["meta"]["after_cursor"]).json()
    assert [o["id"] for o in second["organizations"]] == expected["id"][25:50].to_list()
    assert second["links"]["prev"] is not None
    # backwards from the second page's first record: the first page again
    back = client.support("organizations", size=25,
                          before=second["meta"]["before_cursor"]).json()
    assert [o["id"] for o in back["organizations"]] == expected["id"][:25].to_list()
    assert back["meta"]["has_more"] is False and back["links"]["prev"] is None
    tail = client.support("organizations", size=25,
                          after=second["meta"]["after_cursor"]).json()
    assert len(tail["organizations"]) == 10
    assert tail["meta"]["has_more"] is False and tail["links"]["next"] is None


def test_updated_since_is_inclusive_and_reads_offsets(client: Client, company: Path) -> None:
    frame = ordered(company, ORGS)
    since = dt.datetime(2025, 3, 5, 9, 0, tzinfo=dt.UTC)  # an exact updated_at
    expected = frame.filter(pl.col("updated_at") >= since)
    assert 0 < expected.height < frame.height
    for text in ("2025-03-05T09:00:00Z", "2025-03-05T10:00:00+01:00", "2025-03-05T09:00:00"):
        served = all_pages(client, "organizations", size=4, updated_since=text)
        assert [o["id"] for o in served] == expected["id"].to_list(), text
    empty = client.support("organizations", updated_since="2031-01-01T00:00:00Z").json()
    assert empty == {"organizations": [], "meta": {"has_more": False, "after_cursor": None,
                                                   "before_cursor": None},
                     "links": {"next": None, "prev": None}}


def test_json_suffix_and_default_page_size(client: Client) -> None:
    body = client.session.get(f"{client.url}/api/v2/organizations.json", timeout=10, headers={
        "Authorization": f"Bearer {TOKENS.support}"}).json()
    assert len(body["organizations"]) == 60 and body["meta"]["has_more"] is False


@pytest.mark.parametrize("params,fragment", [
    ({"size": 0}, "page[size]"), ({"size": 101}, "page[size]"), ({"size": "ten"}, "page[size]"),
    ({"after": "not-a-cursor"}, "page[after]"), ({"before": "e30"}, "page[before]"),
    ({"after": encode_cursor((None, 1)), "before": encode_cursor((None, 2))}, "together"),
])
def test_bad_pagination_is_a_zendesk_400(client: Client, params: dict[str, Any],
                                         fragment: str) -> None:
    response = client.support("organizations", **params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "description"}
    assert body["error"] == "InvalidPaginationParameter" and fragment in body["description"]


def test_bad_updated_since_and_unknown_endpoint(client: Client) -> None:
    bad = client.support("service_credits", updated_since="last tuesday")
    assert bad.status_code == 400 and bad.json()["error"] == "InvalidParameter"
    missing = client.support("tickets")
    assert missing.status_code == 404
    assert missing.json() == {"error": "InvalidEndpoint", "description": "Not found"}
    post = client.session.post(f"{client.url}/api/v2/organizations", timeout=10, headers={
        "Authorization": f"Bearer {TOKENS.support}"})
    assert post.status_code == 405 and set(post.json()) == {"error", "description"}


WRONG = [{}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKENS.support}"},
         {"Authorization": f"Bearer {TOKENS.erp}"}, {"X-API-Key": TOKENS.support}]


@pytest.mark.parametrize("headers", WRONG)
def test_401_is_zendesk_shaped_and_leaks_nothing(client: Client, headers: dict[str, str],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.session.get(f"{client.url}/api/v2/organizations", headers=headers,
                                  timeout=10)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized",
                               "description": "Couldn't authenticate you"}
    secrets = (TOKENS.billing, TOKENS.erp, TOKENS.revrec, TOKENS.support)
    assert not any(secret in response.text + caplog.text for secret in secrets if secret)


def test_without_a_support_token_the_api_is_closed(company: Path) -> None:
    tokens = SandboxTokens(billing="b-token", erp="e-token", revrec="r-token")
    with SandboxServer(company, tokens=tokens) as server, requests.Session() as session:
        for header in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
            answer = session.get(f"{server.url}/api/v2/organizations", headers=header,
                                 timeout=10)
            assert answer.status_code == 401
        assert session.get(f"{server.url}/api/v1/revenue_schedules", timeout=10,
                           headers={"X-API-Key": "r-token"}).status_code == 200


def test_a_company_without_support_data_serves_empty_lists(company: Path,
                                                           tmp_path: Path) -> None:
    older = tmp_path / "older"
    shutil.copytree(company, older, ignore=shutil.ignore_patterns("support"))
    assert not (older / "support").exists()
    with SandboxServer(older, tokens=TOKENS) as server, requests.Session() as session:
        client = Client(server.url, session)
        for resource, _ in RESOURCES:
            body = client.support(resource).json()
            assert body[resource] == [] and body["meta"]["has_more"] is False
        assert client.billing("/v1/invoices", limit=1).status_code == 200


def test_a_support_folder_missing_a_table_is_refused(company: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(company, broken)
    (broken / "support" / "service_credits.parquet").unlink()
    with pytest.raises(DataDirError, match=r"service_credits\.parquet"):
        SandboxServer(broken, tokens=TOKENS).start()


# ---- faults -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["429", "503"])
def test_status_faults_are_zendesk_shaped_with_retry_after(make_server: Any, client_for: Any,
                                                           kind: str) -> None:
    server = make_server(faults=f"support.organizations:{kind}=1,retry_after=3")
    response = client_for(server).support("organizations")
    assert response.status_code == int(kind)
    assert response.headers["Retry-After"] == "3"
    assert set(response.json()) == {"error", "description"}
    assert server.fault_counts[("support.organizations", kind)] == 1


def test_drop_cuts_the_answer(make_server: Any, client_for: Any) -> None:
    server = make_server(faults="support.service_credits:drop=1")
    client = client_for(server)
    with pytest.raises((requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ConnectionError, ValueError)):
        client.support("service_credits").json()
    assert server.fault_counts[("support.service_credits", "drop")] == 1


def test_duplicate_repeats_the_cursor_record(make_server: Any, client_for: Any,
                                             company: Path) -> None:
    server = make_server(faults="support.organizations:duplicate=1")
    served = all_pages(client_for(server), "organizations", size=10)
    counts = Counter(o["id"] for o in served)
    expected = ordered(company, ORGS)["id"].to_list()
    assert set(counts) == set(expected)
    repeated = [oid for oid, n in counts.items() if n == 2]
    assert repeated == expected[9:50:10]  # each page's last record, at the next page's top
    assert server.fault_counts[("support.organizations", "duplicate")] == 5


def test_mutate_moves_the_record_to_the_end_and_skips_nothing(make_server: Any,
                                                              client_for: Any,
                                                              company: Path) -> None:
    """Unlike page numbers, a cursor that is a key loses nothing when records change."""
    server = make_server(faults="support.organizations:mutate=1")
    served = all_pages(client_for(server), "organizations", size=10)
    counts = Counter(o["id"] for o in served)
    assert set(counts) == set(read_table(company, ORGS)["id"].to_list())  # nothing skipped
    bumped = [oid for oid, n in counts.items() if n >= 2]
    assert bumped and server.fault_counts[("support.organizations", "mutate")] >= 5
    for oid in bumped:
        copies = [o for o in served if o["id"] == oid]
        assert copies[-1]["updated_at"] > copies[0]["updated_at"]
        assert {k: v for k, v in copies[0].items() if k != "updated_at"} == {
            k: v for k, v in copies[-1].items() if k != "updated_at"}
    stamps = [o["updated_at"] for o in served[-len(bumped):]]
    assert stamps == sorted(stamps)  # the moved records come last, in their new order
