"""Usage journal benchmark: N usage events -> rated, aggregated journal lines -> posted entries.

Setup (not timed): a warehouse with ``--items`` metered subscription items spread over the
four currencies of the two legal entities, and N events generated inside DuckDB over 30 days
(2% arriving hours late), plus the dbt views (``dbt run --select +fct_usage_journal_lines``).

Timed, each in its own child process so peak RSS is its own:

- ``aggregate``: ``plan_batches`` over every window - the rating view (item, cycle, included
  quantity in arrival order), the aggregation into journal lines and the ledger insert;
- ``peer``: one hand-written DuckDB query summing quantity x unit price per window, entity,
  currency and product over the same events (no included quantities, no ledger): the floor;
- ``post``: posting the planned batches to the sandbox ERP over loopback HTTP (the sandbox
  serves a small generated company's ERP in a separate process).

Usage: ``python benchmarks/bench_usage_journals.py --events 10000000 100000000``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve()
ROOT = BENCH.parents[1]
sys.path.insert(0, str(ROOT))

from seeds.generator import generate_company  # noqa: E402
from tieout.config import load_config  # noqa: E402
from tieout.transform.dbt_vars import PROJECT_DIR, dbt_vars_arg  # noqa: E402
from tieout.transform.invocation import dbt_executable  # noqa: E402
from tieout.warehouse.connection import open_warehouse  # noqa: E402

CURRENCIES = (("US01", "USD"), ("US01", "JPY"), ("EU01", "EUR"), ("EU01", "GBP"))
STARTED = "2025-12-01 00:00:00+00"  # subscriptions start; events span the next 30 days
SPAN_SECONDS = 30 * 86400
TOKEN = "bench-erp-token"

PEER = """
select time_bucket(interval '60 minutes', e.occurred_at) as window_start, c.legal_entity,
       upper(p.currency) as currency, i.product, sum(e.quantity * p.unit_amount) as amount_minor
from raw_usage.events e
join raw_billing.subscription_items i on i.id = e.subscription_item
join raw_billing.prices p on p.id = i.price
join raw_billing.subscriptions s on s.id = i.subscription
join raw_billing.customers c on c.id = s.customer
group by all
"""


def config_text(erp_url: str) -> str:
    return f'''[company]
as_of = "2026-01-05T00:00:00Z"
accounting_timezone = "America/Los_Angeles"
reporting_currency = "USD"

[warehouse]
path = "bench.duckdb"
memory_limit = "2GB"

[reconciliation]
grace_hours = 24

[reconciliation.absolute_tolerance]

[sources.erp]
mode = "api"
base_url = "{erp_url}"
token_env = "TIEOUT_BENCH_ERP_TOKEN"

[journal]
window_minutes = 60
close_after_minutes = 0
'''


def setup(root: Path, events: int, items: int, reference: Path) -> Path:
    """The warehouse with billing rows, N events and the dbt views (returns the config)."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "tieout.toml"
    config.write_text(config_text("http://127.0.0.1:9"))
    cfg = load_config(config)
    cfg.warehouse.unlink(missing_ok=True)
    con = open_warehouse(cfg.warehouse, "4GB")
    for table in ("legal_entities", "account_mapping", "chart_of_accounts", "currencies"):
        con.execute(f"insert into raw_reference.{table} by name "
                    f"select * from read_parquet('{reference / table}.parquet')")
    combos = ", ".join(f"('{e}', '{c}')" for e, c in CURRENCIES)
    con.execute(f"""
        create temp table items as
        select i, 'si_' || i as item, 'cus_' || i as customer, 'sub_' || i as sub,
               'price_' || i as price, combo.e as entity, combo.c as currency
        from range({items}) t(i)
        join (select row_number() over () - 1 as k, e, c from (values {combos}) v(e, c)) combo
            on combo.k = i % 4
    """)
    started = f"epoch(timestamptz '{STARTED}')::bigint"
    con.execute(f"""
        insert into raw_billing.customers (id, name, currency, legal_entity, created, updated)
        select customer, customer, lower(currency), entity, {started}, {started} from items;
        insert into raw_billing.subscriptions (id, customer, status, currency,
            billing_interval, start_date, created, updated)
        select sub, customer, 'active', lower(currency), 'month', {started}, {started},
               {started} from items;
        insert into raw_billing.prices (id, product, currency, unit_amount,
            recurring_interval, usage_type, included_quantity, created, updated)
        select price, 'prod_api', lower(currency), case currency when 'JPY' then 3 else 2 end,
               'month', 'metered', 100, {started}, {started} from items;
        insert into raw_billing.subscription_items (id, subscription, price, product, quantity,
            created, updated)
        select item, sub, price, 'prod_api', 1, {started}, {started} from items;
    """)
    con.execute(f"""
        insert into raw_usage.events (event_id, customer, subscription_item, metric, quantity,
            occurred_at, received_at)
        select 'ev_' || n, 'cus_' || (n % {items}), 'si_' || (n % {items}), 'api_calls',
               1 + n % 37,
               timestamptz '{STARTED}' + to_seconds((n * 7919) % {SPAN_SECONDS}),
               timestamptz '{STARTED}' + to_seconds((n * 7919) % {SPAN_SECONDS}
                   + case when n % 50 = 0 then 7200 + n % 86400 else n % 300 end)
        from range({events}) t(n)
    """)
    con.execute("checkpoint")
    con.close()
    env = {**os.environ, "TIEOUT_WAREHOUSE": str(cfg.warehouse)}
    done = subprocess.run(
        [dbt_executable(), "run", "--select", "+fct_usage_journal_lines", "--project-dir",
         str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--vars", dbt_vars_arg(cfg),
         "--target-path", str(root / "target"), "--log-path", str(root / "logs"), "--quiet"],
        env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"dbt run failed:\n{done.stdout[-3000:]}")
    return config


def child(stage: str, config: Path, erp_url: str | None) -> None:
    """One timed stage in this (child) process; prints a JSON line."""
    from tieout.journal.erp_api import JournalApi
    from tieout.journal.plan import plan_batches
    from tieout.journal.poster import Poster
    from tieout.journal.service import all_scope

    cfg = load_config(config)
    con = open_warehouse(cfg.warehouse, cfg.warehouse_memory_limit)
    started = time.perf_counter()
    out: dict[str, object] = {}
    if stage == "aggregate":
        con.execute("delete from ops.journal_batch_lines; delete from ops.journal_batches;"
                    " delete from ops.journal_attempts")
        plan = plan_batches(con, cfg, all_scope(cfg))
        [(lines,)] = con.execute("select count(*) from ops.journal_batch_lines").fetchall()
        out = {"batches": plan.created, "journal_lines": lines}
    elif stage == "peer":
        out = {"rows": len(con.execute(PEER).fetchall())}
    elif stage == "post":
        assert erp_url is not None
        api = JournalApi(erp_url, TOKEN)
        report = Poster(con, cfg, api, "bench").post_all()
        out = {"posted": report.posted, "failed": report.failed}
    seconds = time.perf_counter() - started
    con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"stage": stage, "seconds": round(seconds, 2), "peak_mb": peak, **out}))


def run_child(stage: str, config: Path, erp_url: str | None = None) -> dict[str, object]:
    env = {**os.environ, "TIEOUT_BENCH_ERP_TOKEN": TOKEN}
    args = [sys.executable, str(BENCH), "--child", stage, "--config", str(config)]
    if erp_url:
        args += ["--erp-url", erp_url]
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        sys.exit(f"{stage} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--no-post", action="store_true", help="skip posting to the sandbox")
    parser.add_argument("--child", default=None)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--erp-url", default=None)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.config, args.erp_url)
        return
    base = args.work or Path(tempfile.mkdtemp(prefix="tieout-bench-usage-"))
    erp = base / "erp-company"
    if not (erp / "manifest.json").exists():
        generate_company(erp, seed=5, invoices=100)
    for n in args.events:
        started = time.perf_counter()
        config = setup(base / f"usage-{n}", n, args.items, erp / "reference")
        setup_seconds = round(time.perf_counter() - started, 1)
        aggregate = run_child("aggregate", config)
        peer = run_child("peer", config)
        result: dict[str, object] = {
            "events": n, "items": args.items, "setup_seconds": setup_seconds,
            "aggregate_seconds": aggregate["seconds"], "aggregate_peak_mb": aggregate["peak_mb"],
            "batches": aggregate["batches"], "journal_lines": aggregate["journal_lines"],
            "peer_seconds": peer["seconds"], "peer_peak_mb": peer["peak_mb"],
            "ratio_vs_peer": round(float(aggregate["seconds"]) / float(peer["seconds"]), 2),
            "cores": os.cpu_count()}
        if not args.no_post:
            server = subprocess.Popen(
                [sys.executable, "-m", "tieout", "sandbox", "serve", "--data", str(erp),
                 "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env={**os.environ, "TIEOUT_BILLING_API_KEY": "b", "TIEOUT_ERP_TOKEN": TOKEN,
                     "TIEOUT_REVREC_API_KEY": "r", "PYTHONUNBUFFERED": "1"})
            try:
                url = _server_url(server)
                post = run_child("post", config, url)
            finally:
                server.terminate()
                server.wait(timeout=30)
            result |= {"post_seconds": post["seconds"], "posted": post["posted"],
                       "post_peak_mb": post["peak_mb"]}
        print(json.dumps(result), flush=True)


def _server_url(server: subprocess.Popen[str]) -> str:
    assert server.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if "http://127.0.0.1:" in line:
            start = line.index("http://127.0.0.1:")
            return line[start:].split()[0].rstrip("/.,")
    raise SystemExit("the sandbox did not start")


if __name__ == "__main__":
    main()
