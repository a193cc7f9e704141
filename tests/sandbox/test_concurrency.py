"""Many clients at once: per-request cursors for reads, one writer at a time for postings."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from .conftest import Client, read_table
from .test_billing import page_all
from .test_journal import entry


def test_parallel_readers_all_get_complete_results(shared_server: Any, company: Path) -> None:
    invoice_ids = read_table(company, "billing/invoices").sort(
        ["created", "id"], descending=True)["id"].to_list()
    total = read_table(company, "erp/transactionline").height

    def work(n: int) -> bool:
        with requests.Session() as session:
            client = Client(shared_server.url, session)
            if n % 2:
                return [r["id"] for r in page_all(client, "/v1/invoices", limit=3)] == invoice_ids
            body = client.suiteql("SELECT COUNT(*) AS n FROM transactionline").json()
            return body["items"][0]["n"] == str(total)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(24)))


def test_concurrent_postings_dedupe_by_external_id(make_server: Any) -> None:
    server = make_server()

    def post(n: int) -> int:
        with requests.Session() as session:
            return Client(server.url, session).post_journal(entry(f"race-{n % 4}")).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(post, range(16)))
    assert statuses == Counter({204: 4, 400: 12})
    with requests.Session() as session:
        rows = Client(server.url, session).suiteql(
            "SELECT t.externalid, COUNT(DISTINCT t.id) AS n, COUNT(l.id) AS lines"
            " FROM transaction t JOIN transactionline l ON l.transaction = t.id"
            " WHERE t.externalid LIKE 'race-%'"
            " GROUP BY t.externalid ORDER BY t.externalid").json()["items"]
    assert [(r["externalid"], r["n"], r["lines"]) for r in rows] == [
        (f"race-{i}", "1", "2") for i in range(4)]
