"""``tieout demo``: a generated company served by the sandbox, end to end on this machine.

The demo needs no setup: it generates a company into ``./demo``, serves it over loopback with
throwaway tokens (never printed), asks each API what it holds, then runs the whole pipeline
in API mode through Dagster into ``demo/warehouse.duckdb``, as ``tieout run`` does: extract,
dbt build, one check per rule, and the exceptions by rule (run history in Dagster's local
storage under ``demo/.tieout``).
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Annotated

import requests
import typer
from rich.markup import escape
from rich.table import Table

from .output import console, print_company

TOKEN_VARS = ("TIEOUT_BILLING_API_KEY", "TIEOUT_ERP_TOKEN", "TIEOUT_REVREC_API_KEY",
              "TIEOUT_SUPPORT_TOKEN")


def _timed(call: object) -> tuple[requests.Response, float]:
    started = time.perf_counter()
    response = call()  # type: ignore[operator]
    response.raise_for_status()
    return response, (time.perf_counter() - started) * 1000


def probe(url: str, timeout: float = 30.0) -> Table:
    """One request per system, with what it answered and how long it took."""
    billing = {"Authorization": f"Bearer {os.environ['TIEOUT_BILLING_API_KEY']}"}
    erp = {"Authorization": f"Bearer {os.environ['TIEOUT_ERP_TOKEN']}", "Prefer": "transient"}
    revrec = {"X-API-Key": os.environ["TIEOUT_REVREC_API_KEY"]}
    support = {"Authorization": f"Bearer {os.environ['TIEOUT_SUPPORT_TOKEN']}"}
    table = Table("system", "request", "answer", "ms", title=f"Sandbox at {url}")
    with requests.Session() as s:
        r, ms = _timed(lambda: s.get(f"{url}/v1/invoices", params={"limit": 100},
                                     headers=billing, timeout=timeout))
        page = r.json()
        table.add_row("billing", "GET /v1/invoices?limit=100",
                      f"{len(page['data'])} invoices, has_more={page['has_more']}", f"{ms:.0f}")
        q = ("SELECT t.type, COUNT(*) AS n FROM transaction t GROUP BY t.type ORDER BY t.type")
        r, ms = _timed(lambda: s.post(f"{url}/services/rest/query/v1/suiteql",
                                      params={"limit": 10}, json={"q": q}, headers=erp,
                                      timeout=timeout))
        counts = ", ".join(f"{i['type']} {int(i['n']):,}" for i in r.json()["items"])
        table.add_row("erp", "SuiteQL: transactions by type", counts, f"{ms:.0f}")
        r, ms = _timed(lambda: s.get(f"{url}/api/v1/revenue_schedules",
                                     params={"page_size": 100}, headers=revrec, timeout=timeout))
        table.add_row("revrec", "GET /api/v1/revenue_schedules", f"{r.json()['count']:,} "
                      "schedules", f"{ms:.0f}")
        r, ms = _timed(lambda: s.get(f"{url}/api/v2/organizations", params={"page[size]": 100},
                                     headers=support, timeout=timeout))
        page = r.json()
        table.add_row("support", escape("GET /api/v2/organizations?page[size]=100"),
                      f"{len(page['organizations'])} organizations, "
                      f"has_more={page['meta']['has_more']}", f"{ms:.0f}")
    return table


def write_close_pack(config: Path) -> tuple[Path, Path]:
    """The HTML close report and the review workbook of the period being closed (the month
    before the company's as-of date), written beside the warehouse."""
    from tieout.config import load_config
    from tieout.report import write_report
    from tieout.review import default_actor, default_close_period
    from tieout.warehouse.connection import open_read_only
    from tieout.workbook import Origin, export_workbook

    cfg = load_config(config)
    period = default_close_period(cfg.as_of, cfg.accounting_timezone)
    report = write_report(cfg, period)
    workbook = cfg.warehouse.parent / "reports" / "review-queue.xlsx"  # every period
    con = open_read_only(cfg.warehouse)
    try:
        export_workbook(con, workbook, Origin(cfg.company_name, cfg.warehouse,
                                              cfg.reporting_currency, default_actor()))
    finally:
        con.close()
    return report, workbook


def demo(
    out: Annotated[Path, typer.Option(help="Where the demo company is written.")] = Path("demo"),
    invoices: Annotated[int, typer.Option(min=100, max=2_000_000,
                                          help="Approximate number of invoices.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Generate a company, serve it from the sandbox, run the pipeline, show the exceptions."""
    from seeds.generator import generate_company
    from seeds.generator.writer import write_config
    from seeds.sandbox.server import SandboxServer, tokens_from_env

    from .run import instance_home, run_stages

    for var in TOKEN_VARS:  # throwaway loopback credentials unless the user set real ones
        os.environ.setdefault(var, secrets.token_urlsafe(24))
    with console.status("generating the company"):
        summary = generate_company(out, seed=seed, invoices=invoices)
    print_company(summary)
    server = SandboxServer(out, port=0, tokens=tokens_from_env())
    with console.status("starting the sandbox"):
        server.start()
    try:
        console.print(probe(server.url))
        api_config = write_config(out, seed=seed, invoices=invoices, mode="api",
                                  base_url=server.url, name="tieout-api.toml")
        (out / "warehouse.duckdb").unlink(missing_ok=True)  # each demo starts from scratch
        os.environ["DAGSTER_HOME"] = str(instance_home((out / ".tieout" / "dagster").resolve()))
        run_stages(api_config, extract_table=True)
    finally:
        server.stop()
    report, workbook = write_close_pack(api_config)
    console.print(f"close report: {report}\nreview workbook: {workbook}")
    console.print(f"ground truth: {out / 'ground_truth.csv'}; configuration: "
                  f"{out / 'tieout.toml'} (files mode), {api_config.name} (API mode); "
                  f"exceptions: tieout exceptions list --config {api_config}; "
                  f"usage journals: tieout journal list --config {api_config}; "
                  f"Dagster runs: make ui")
