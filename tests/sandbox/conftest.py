"""A small hand-built company for the sandbox tests, and fixtures that serve it.

Written through ``seeds.tables.conform`` so it follows the same contract as the generator's
output, but small and with the awkward cases on purpose: invoices with more lines than are
embedded, ties on ``created``/``updated_at``, two subsidiaries, closed periods, '' memos; the
support platform's records come from ``tests.support_records``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests

from seeds.sandbox import SandboxServer, SandboxTokens
from seeds.tables import conform
from tests.support_records import write_support

TOKENS = SandboxTokens(billing="bill-s3cret-token", erp="erp-s3cret-token",
                       revrec="rev-s3cret-token", support="sup-s3cret-token")
EMBED = 10
UTC = dt.UTC


def _write(root: Path, name: str, rows: list[dict[str, Any]]) -> None:
    path = root / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    conform(name, frame).write_parquet(path)


def build_company(root: Path, *, invoices: int = 40, seed: int = 3) -> Path:
    """Write a small company under ``root``; returns ``root``."""
    rnd = random.Random(seed)
    base = 1_704_067_200  # 2024-01-01T00:00:00Z
    _write(root, "billing/products", [
        {"id": f"prod_{i}", "name": f"Product {i}", "revenue_class": "subscription",
         "recognition": "ratable", "created": base + i * 10, "updated": base + i * 10}
        for i in range(1, 4)
    ])
    _write(root, "billing/prices", [
        {"id": f"price_{i}", "product": f"prod_{1 + i % 3}", "currency": "usd",
         "unit_amount": 1000 * i, "recurring_interval": "month", "usage_type": "licensed",
         "included_quantity": 0, "created": base + i * 7, "updated": base + i * 7}
        for i in range(1, 6)
    ])
    customers = [
        {"id": f"cus_{i:03d}", "name": f"Customer {i}", "email": f"c{i}@example.com",
         "currency": "usd" if i % 3 else "eur", "legal_entity": "US" if i % 2 else "EU",
         # ties on created on purpose: order must fall back to id desc
         "created": base + (i // 2) * 3600, "updated": base + (i // 2) * 3600 + 5}
        for i in range(1, 13)
    ]
    _write(root, "billing/customers", customers)
    subscriptions, items = [], []
    for i in range(1, 11):
        subscriptions.append({
            "id": f"sub_{i:03d}", "customer": f"cus_{i:03d}", "status": "active",
            "currency": "usd", "billing_interval": "month", "start_date": base + i * 86400,
            "current_period_start": base + i * 86400, "current_period_end": base + i * 86400 * 31,
            "cancel_at_period_end": i == 3, "created": base + i * 86400,
            "updated": base + i * 86400 + 1,
        })
        for j in range(1 + i % 3):
            items.append({"id": f"si_{i:03d}_{j}", "subscription": f"sub_{i:03d}",
                          "price": f"price_{1 + j}", "product": f"prod_{1 + j % 3}",
                          "quantity": 1 + j, "created": base + i * 86400 + j,
                          "updated": base + i * 86400 + j})
    _write(root, "billing/subscriptions", subscriptions)
    _write(root, "billing/subscription_items", items)
    invoice_rows, line_rows = [], []
    for i in range(1, invoices + 1):
        created = base + (i // 3) * 86400  # ties in threes
        n_lines = 25 if i == 5 else 12 if i % 7 == 0 else 11 if i == 9 else rnd.randint(1, 4)
        amounts = [rnd.randint(100, 100_000) for _ in range(n_lines)]
        invoice_rows.append({
            "id": f"in_{i:04d}", "number": f"INV-{i:04d}", "customer": f"cus_{1 + i % 12:03d}",
            "subscription": f"sub_{1 + i % 10:03d}", "status": "paid" if i % 4 else "open",
            "currency": "usd", "billing_reason": "subscription_cycle", "subtotal": sum(amounts),
            "total_discount": 0, "tax": 0, "total": sum(amounts), "amount_due": sum(amounts),
            "amount_paid": sum(amounts) if i % 4 else 0,
            "amount_remaining": 0 if i % 4 else sum(amounts), "period_start": created,
            "period_end": created + 30 * 86400, "created": created, "finalized_at": created,
            "due_date": created + 30 * 86400, "attempt_count": 1, "updated": created + i,
        })
        for j, amount in enumerate(amounts, start=1):
            line_rows.append({
                "id": f"il_{i:04d}_{j:02d}", "invoice": f"in_{i:04d}", "line_number": j,
                "subscription_item": None, "price": "price_1", "product": "prod_1",
                "description": f"Line {j}", "quantity": 1, "amount": amount,
                "discount_amount": 0, "tax_amount": 0, "currency": "usd",
                "period_start": created, "period_end": created + 30 * 86400,
                "proration": j % 5 == 0, "type": "subscription",
            })
    rnd.shuffle(line_rows)  # file order must not matter
    _write(root, "billing/invoices", invoice_rows)
    _write(root, "billing/invoice_lines", line_rows)
    notes, note_lines = [], []
    for i in range(1, 9):
        n_lines = 12 if i == 2 else 1 + i % 3
        notes.append({
            "id": f"cn_{i:03d}", "number": f"CN-{i:03d}", "invoice": f"in_{i:04d}",
            "customer": f"cus_{1 + i % 12:03d}", "currency": "usd", "status": "issued",
            "type": "pre_payment", "reason": "duplicate", "subtotal": 100 * n_lines, "tax": 0,
            "total": 100 * n_lines, "refund_amount": 0, "memo": "", "created": base + i * 5000,
            "updated": base + i * 5000,
        })
        for j in range(n_lines):
            note_lines.append({"id": f"cnl_{i:03d}_{j:02d}", "credit_note": f"cn_{i:03d}",
                               "invoice_line": None, "amount": 100, "tax_amount": 0})
    _write(root, "billing/credit_notes", notes)
    _write(root, "billing/credit_note_lines", note_lines)
    _write_erp(root, invoice_rows, rnd)
    _write_revrec(root, rnd)
    write_support(root)
    return root


def _ts(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, UTC)


def _write_erp(root: Path, invoices: list[dict[str, Any]], rnd: random.Random) -> None:
    _write(root, "erp/currency", [
        {"id": 1, "symbol": "USD", "name": "US Dollar"},
        {"id": 2, "symbol": "EUR", "name": "Euro"},
        {"id": 3, "symbol": "JPY", "name": "Yen"},
    ])
    _write(root, "erp/subsidiary", [
        {"id": 1, "name": "Acme US Inc", "externalid": "US", "currency": 1},
        {"id": 2, "name": "Acme EU GmbH", "externalid": "EU", "currency": 2},
    ])
    _write(root, "erp/customer", [
        {"id": 100 + i, "entityid": f"CUST{i:03d}",
         "companyname": "" if i == 4 else f"Customer {i}", "externalid": f"cus_{i:03d}",
         "subsidiary": 1 if i % 2 else 2, "currency": 1,
         "datecreated": _ts(1_704_067_200 + i * 60), "lastmodifieddate": _ts(1_704_067_200 + i)}
        for i in range(1, 13)
    ])
    periods = []
    for month in range(1, 13):
        start = dt.date(2024, month, 1)
        end = (dt.date(2024, month + 1, 1) if month < 12 else dt.date(2025, 1, 1)) - dt.timedelta(1)
        periods.append({
            "id": month, "periodname": start.strftime("%b %Y"), "startdate": start,
            "enddate": end, "closed": "T" if month <= 3 else "F",
            "closedondate": _ts(1_714_521_600) if month <= 3 else None,
            "isquarter": "F", "isyear": "F", "isadjust": "F",
        })
    periods.append({"id": 13, "periodname": "Q1 2024", "startdate": dt.date(2024, 1, 1),
                    "enddate": dt.date(2024, 3, 31), "closed": "T", "isquarter": "T",
                    "isyear": "F", "isadjust": "F"})
    periods.append({"id": 14, "periodname": "FY 2024", "startdate": dt.date(2024, 1, 1),
                    "enddate": dt.date(2024, 12, 31), "closed": "F", "isquarter": "F",
                    "isyear": "T", "isadjust": "F"})
    _write(root, "erp/accountingperiod", periods)
    _write(root, "erp/account", [
        {"id": 1, "acctnumber": "1000", "fullname": "Cash", "accttype": "Bank"},
        {"id": 2, "acctnumber": "1100", "fullname": "Accounts Receivable", "accttype": "AcctRec"},
        {"id": 3, "acctnumber": "1200", "fullname": "Unbilled Receivable",
         "accttype": "OthCurrAsset"},
        {"id": 4, "acctnumber": "2400", "fullname": "Deferred Revenue", "accttype": "DeferRevenue"},
        {"id": 5, "acctnumber": "4000", "fullname": "Subscription Revenue", "accttype": "Income"},
        {"id": 6, "acctnumber": "4100", "fullname": "Usage Revenue", "accttype": "Income"},
    ])
    transactions, lines = [], []
    line_id = 1000
    for index, invoice in enumerate(invoices, start=1):
        tran_id = 500 + index
        created = invoice["created"]
        date = _ts(created).date()
        total = f"{invoice['total'] / 100:.2f}"
        customer = 100 + int(invoice["customer"][-3:])
        transactions.append({
            "id": tran_id, "tranid": f"INV{index:05d}", "type": "CustInvc",
            "externalid": invoice["id"], "entity": customer, "subsidiary": 1, "currency": 1,
            "exchangerate": "1", "trandate": date, "postingperiod": date.month,
            "status": "A" if index % 4 else "B", "voided": "F", "foreigntotal": total,
            "foreignamountremaining": "0.00" if index % 4 else total, "appliedto": None,
            # '' is NULL in NetSuite; some memos are set, one '' and the rest missing
            "memo": "" if index == 2 else ("renewal" if index % 5 == 0 else None),
            "duedate": date + dt.timedelta(30),
            "createddate": _ts(created), "lastmodifieddate": _ts(created + 3600 + index),
        })
        lines.append({"id": line_id, "transaction": tran_id, "linesequencenumber": 0,
                      "mainline": "T", "taxline": "F", "account": 2, "foreignamount": total,
                      "subsidiary": 1, "linelastmodifieddate": _ts(created + 3600)})
        lines.append({"id": line_id + 1, "transaction": tran_id, "linesequencenumber": 1,
                      "mainline": "F", "taxline": "F", "account": 4, "foreignamount": f"-{total}",
                      "subsidiary": 1, "custcol_invoice_line": f"il_{index:04d}_01",
                      "linelastmodifieddate": _ts(created + 3600)})
        line_id += 2
    for index in range(1, 4):
        tran_id = 900 + index
        transactions.append({
            "id": tran_id, "tranid": f"JE{tran_id}", "type": "Journal",
            "externalid": f"usage-2024-0{index + 3}-US", "subsidiary": 1, "currency": 1,
            "exchangerate": "1", "trandate": dt.date(2024, index + 3, 15),
            "postingperiod": index + 3, "status": "B", "voided": "F", "foreigntotal": "12.50",
            "memo": "usage batch", "createddate": _ts(1_715_000_000 + index),
            "lastmodifieddate": _ts(1_715_000_000 + index),
        })
        for seq, (account, amount) in enumerate(((3, "12.50"), (6, "-12.50"))):
            lines.append({"id": line_id, "transaction": tran_id, "linesequencenumber": seq,
                          "mainline": "F", "taxline": "F", "account": account,
                          "foreignamount": amount, "subsidiary": 1,
                          "linelastmodifieddate": _ts(1_715_000_000 + index)})
            line_id += 1
    rnd.shuffle(transactions)
    _write(root, "erp/transaction", transactions)
    _write(root, "erp/transactionline", lines)


def _write_revrec(root: Path, rnd: random.Random) -> None:
    schedules, lines = [], []
    base = 1_704_067_200
    for i in range(1, 61):
        n_lines = 1 + i % 12
        amounts = [f"{rnd.randint(100, 99_999) / 100:.2f}" for _ in range(n_lines)]
        total = f"{sum(float(a) for a in amounts):.2f}"
        schedules.append({
            "id": f"rs_{i:04d}", "invoice_id": f"in_{1 + i % 40:04d}",
            "invoice_line_id": f"il_{1 + i % 40:04d}_01", "customer_id": f"cus_{1 + i % 12:03d}",
            "legal_entity": "US", "currency": "usd", "product_id": "prod_1",
            "recognition_method": "ratable", "total_amount": total,
            "document_date": dt.date(2024, 1 + i % 12, 1),
            "service_start": dt.date(2024, 1 + i % 12, 1),
            "service_end": dt.date(2024, 1 + i % 12, 28), "status": "active",
            "created_at": _ts(base + i * 100),
            # ties in fives on updated_at: order must fall back to id
            "updated_at": _ts(base + (i // 5) * 1000 + (500 if i % 2 else 0)),
        })
        for j, amount in enumerate(amounts, start=1):
            lines.append({"schedule_id": f"rs_{i:04d}", "line_number": j,
                          "period": f"2024-{1 + (i + j) % 12:02d}", "amount": amount,
                          "status": "recognized" if j == 1 else "scheduled"})
    rnd.shuffle(schedules)
    _write(root, "revrec/revenue_schedules", schedules)
    _write(root, "revrec/revenue_schedule_lines", lines)


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_company(tmp_path_factory.mktemp("company"))


@pytest.fixture(scope="session")
def shared_server(company: Path) -> Iterator[SandboxServer]:
    """A read-only server (no faults): tests using it must not post or mutate."""
    with SandboxServer(company, tokens=TOKENS, embed_lines=EMBED) as server:
        yield server


@pytest.fixture
def make_server(company: Path) -> Iterator[Any]:
    """Factory for private servers (faults, postings); all are stopped at teardown."""
    servers: list[SandboxServer] = []

    def make(**kwargs: Any) -> SandboxServer:
        kwargs.setdefault("tokens", TOKENS)
        kwargs.setdefault("embed_lines", EMBED)
        server = SandboxServer(kwargs.pop("data_dir", company), **kwargs)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@dataclass
class Client:
    """Thin requests wrapper speaking each system's auth."""

    url: str
    session: requests.Session

    def billing(self, path: str, timeout: float = 10, **params: Any) -> requests.Response:
        return self.session.get(f"{self.url}{path}", params=params, timeout=timeout,
                                headers={"Authorization": f"Bearer {TOKENS.billing}"})

    def suiteql(self, q: str, limit: int | None = None, offset: int | None = None,
                timeout: float = 10) -> requests.Response:
        params = {k: v for k, v in (("limit", limit), ("offset", offset)) if v is not None}
        return self.session.post(
            f"{self.url}/services/rest/query/v1/suiteql", params=params, json={"q": q},
            timeout=timeout,
            headers={"Authorization": f"Bearer {TOKENS.erp}", "Prefer": "transient"},
        )

    def post_journal(self, body: dict[str, Any], timeout: float = 10) -> requests.Response:
        return self.session.post(
            f"{self.url}/services/rest/record/v1/journalentry", json=body, timeout=timeout,
            headers={"Authorization": f"Bearer {TOKENS.erp}"},
        )

    def get_journal(self, key: str, timeout: float = 10) -> requests.Response:
        return self.session.get(
            f"{self.url}/services/rest/record/v1/journalentry/{key}", timeout=timeout,
            headers={"Authorization": f"Bearer {TOKENS.erp}"},
        )

    def revrec(self, timeout: float = 10, **params: Any) -> requests.Response:
        return self.session.get(f"{self.url}/api/v1/revenue_schedules", params=params,
                                timeout=timeout, headers={"X-API-Key": TOKENS.revrec})

    def support(self, resource: str, timeout: float = 10, **params: Any) -> requests.Response:
        """``GET /api/v2/<resource>``; ``size``/``after``/``before`` become ``page[...]``."""
        for name in ("size", "after", "before"):
            if name in params:
                params[f"page[{name}]"] = params.pop(name)
        return self.session.get(f"{self.url}/api/v2/{resource}", params=params,
                                timeout=timeout,
                                headers={"Authorization": f"Bearer {TOKENS.support}"})


@pytest.fixture
def client_for() -> Iterator[Any]:
    sessions: list[requests.Session] = []

    def make(server: SandboxServer) -> Client:
        session = requests.Session()
        sessions.append(session)
        return Client(server.url, session)

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def client(shared_server: SandboxServer, client_for: Any) -> Client:
    return client_for(shared_server)


def read_table(company: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(company / f"{name}.parquet")
