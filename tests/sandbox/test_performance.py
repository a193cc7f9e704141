"""Paging stays correct on a big company; its latency is measured in benchmarks/bench_sandbox.py."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from seeds.tables import conform

from .conftest import Client

pytestmark = pytest.mark.slow
INVOICES = 100_000


@pytest.fixture(scope="module")
def big_company(company: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("big")
    shutil.copytree(company, root, dirs_exist_ok=True)
    n = INVOICES
    invoices = pl.DataFrame({"n": pl.int_range(n, eager=True)}).with_columns(
        id=pl.lit("in_") + pl.col("n").cast(pl.String).str.zfill(8),
        customer=pl.lit("cus_") + (pl.col("n") % 5000).cast(pl.String).str.zfill(6),
        status=pl.lit("paid"), currency=pl.lit("usd"), total=pl.col("n") * 7 % 100_000,
        created=1_600_000_000 + pl.col("n") * 300, updated=1_600_000_000 + pl.col("n") * 301,
    )
    conform("billing/invoices", invoices).write_parquet(root / "billing/invoices.parquet")
    lines = (
        invoices.select("n", invoice=pl.col("id"))
        .with_columns(line_number=pl.int_ranges(1, (pl.col("n") * 7919 % 13) + 2))
        .explode("line_number")
        .with_columns(
            id=pl.lit("il_") + pl.col("n").cast(pl.String).str.zfill(8) + "_"
            + pl.col("line_number").cast(pl.String),
            amount=pl.lit(100), currency=pl.lit("usd"), description=pl.lit("seat"),
        )
    )
    conform("billing/invoice_lines", lines).write_parquet(root / "billing/invoice_lines.parquet")
    return root


def test_deep_pages_of_a_big_company_are_complete(big_company: Path, make_server: Any,
                                                  client_for: Any) -> None:
    server = make_server(data_dir=big_company)
    client: Client = client_for(server)
    middle = f"in_{INVOICES // 2:08d}"
    for params in ({"limit": 100}, {"limit": 100, "starting_after": middle},
                   {"limit": 100, "updated[gte]": 1_600_000_000, "starting_after": middle}):
        body = client.billing("/v1/invoices", **params).json()
        assert len(body["data"]) == 100 and body["has_more"]
        ids = [invoice["id"] for invoice in body["data"]]
        assert ids == sorted(ids, reverse=True)  # newest first, no gaps in a dense id range
        assert int(ids[0][3:]) - int(ids[-1][3:]) == 99
        if "starting_after" in params:
            assert ids[0] == f"in_{INVOICES // 2 - 1:08d}"
        assert any(invoice["lines"]["has_more"] for invoice in body["data"])
