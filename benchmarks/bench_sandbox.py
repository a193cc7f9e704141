"""Sandbox latency benchmark: round-trip time of typical pages on a generated company.

Generates (or reuses, with ``--data``) a company, starts the sandbox in this process on a free
loopback port and times each request shape many times, reporting median and p95 in ms and
the server's load time.  The foundation issue's bar: a page of 100 invoices at 1,000,000
invoices in well under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from seeds.generator import generate_company
from seeds.sandbox import SandboxServer, SandboxTokens


def _time(call: Callable[[], requests.Response], repeat: int) -> dict[str, float]:
    call().raise_for_status()  # warm
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call().raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 1),
            "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 1)}


def measure(data: Path, repeat: int) -> dict[str, object]:
    """Start the sandbox on ``data`` and time the request shapes connectors use."""
    tokens = SandboxTokens(*(secrets.token_urlsafe(16) for _ in range(3)))
    started = time.perf_counter()
    server = SandboxServer(data, tokens=tokens)
    server.start()
    load_s = time.perf_counter() - started
    bill = {"Authorization": f"Bearer {tokens.billing}"}
    erp = {"Authorization": f"Bearer {tokens.erp}"}
    rev = {"X-API-Key": tokens.revrec}
    url = server.url
    try:
        with requests.Session() as s:
            first = s.get(f"{url}/v1/invoices", params={"limit": 100}, headers=bill).json()
            deep = first["data"][-1]["id"]
            for _ in range(50):  # walk 5,000 invoices in to get a deep cursor
                page = s.get(f"{url}/v1/invoices", params={"limit": 100, "starting_after": deep},
                             headers=bill).json()
                deep = page["data"][-1]["id"]
            suiteql = f"{url}/services/rest/query/v1/suiteql"
            shapes = {
                "billing: 100 invoices with lines, first page": lambda: s.get(
                    f"{url}/v1/invoices", params={"limit": 100}, headers=bill),
                "billing: 100 invoices with lines, deep cursor": lambda: s.get(
                    f"{url}/v1/invoices", params={"limit": 100, "starting_after": deep},
                    headers=bill),
                "erp: SuiteQL 1,000 transactions paged by key": lambda: s.post(
                    suiteql, params={"limit": 1000}, headers=erp,
                    json={"q": "SELECT * FROM transaction WHERE id > 500000 ORDER BY id"}),
                "revrec: 100 schedules with lines, page 50": lambda: s.get(
                    f"{url}/api/v1/revenue_schedules", params={"page": 50, "page_size": 100},
                    headers=rev),
            }
            results = {name: _time(call, repeat) for name, call in shapes.items()}
    finally:
        server.stop()
    return {"load_seconds": round(load_s, 1), "requests": results}


def main() -> int:
    """Run the benchmark and print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, help="reuse a generated company directory")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tieout-bench-") as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "company"
            generate_company(data, invoices=args.invoices)
        result = measure(data, args.repeat)
    result.update(invoices=args.invoices, cores=os.cpu_count() or 0)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
