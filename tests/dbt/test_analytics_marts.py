"""dbt analytics marts: dim_customer, dim_product and the MRR movements on a small company.

MRR is recomputed here from the raw invoice lines with ``Decimal`` (DECISIONLOG "MRR and ARR"),
independently of the SQL, and must match fct_mrr_movements for every customer and month.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from seeds.generator import generate_company
from tieout.config import TieoutConfig, load_config
from tieout.extract.service import run_extraction
from tieout.transform.dbt_vars import dbt_vars_arg, snapshot_time
from tieout.transform.invocation import warehouse_env
from tieout.warehouse.connection import open_warehouse

pytestmark = pytest.mark.slow

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
EXPONENT = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}
MONTHS_PER_INTERVAL = {"month": 1, "year": 12}

Month = tuple[int, int]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, TieoutConfig]]:
    """An extracted 400-invoice company with the analytics marts and their upstream built."""
    tmp = tmp_path_factory.mktemp("dbt_analytics")
    summary = generate_company(tmp / "co", seed=23, invoices=400)
    cfg = load_config(summary.out_dir / "tieout.toml")
    con = open_warehouse(cfg.warehouse)
    run_extraction(con, cfg)
    con.close()
    with warehouse_env(cfg.warehouse):
        result = dbtRunner().invoke([
            "build", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
            "--select", "+fct_mrr_monthly", "+dim_customer", "+dim_product",
            # Only tests whose parents are all selected: a staging relationships test to a
            # model outside the selection (stg_erp__subsidiaries) would find no table.
            "--indirect-selection", "cautious",
            "--vars", dbt_vars_arg(cfg), "--target-path", str(tmp / "target"),
            "--log-path", str(tmp / "logs"), "--quiet", "--no-send-anonymous-usage-stats",
        ])
    assert result.result is not None, result.exception
    statuses = {r.node.name: str(r.status) for r in result.result}
    failed = {r.node.name: (str(r.status), r.message) for r in result.result
              if str(r.status) not in {"success", "pass"}}
    assert not failed, failed
    assert result.success, result.exception
    for model in ("dim_customer", "dim_product", "fct_mrr_movements", "fct_mrr_monthly"):
        assert statuses.get(model) == "success", model
    unit_tests = [name for name in statuses if name.startswith("mrr_")]
    assert len(unit_tests) == 3, unit_tests
    yield Path(cfg.warehouse), cfg


def rows(db: Path, query: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db)) as con:
        return con.execute(query).fetchall()


def _month(d: dt.date) -> Month:
    return (d.year, d.month)


def _months(first: Month, last: Month) -> Iterator[Month]:
    year, month = first
    while (year, month) <= last:
        yield (year, month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _half_up(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def python_mrr(db: Path, cfg: TieoutConfig) -> dict[tuple[str, Month], Decimal]:
    """Customer MRR per accounting month from raw_billing, in major units of its currency."""
    tz = ZoneInfo(cfg.accounting_timezone)
    snapshot = _month(snapshot_time(cfg).astimezone(tz).date())
    recurring = {pid for pid, recognition in rows(db, "select id, recognition from "
                                                      "raw_billing.products")
                 if recognition == "ratable"}
    prices = {pid: (interval, unit) for pid, interval, unit in rows(
        db, "select id, recurring_interval, unit_amount from raw_billing.prices")}
    lines = rows(db, """
        select l.id, l.product, l.price, l.subscription_item, l.currency, l.proration,
               l.quantity, l.amount, l.discount_amount, l.period_start, l.period_end,
               i.customer, i.subscription, i.status
        from raw_billing.invoice_lines l join raw_billing.invoices i on l.invoice = i.id""")

    # (subscription, month) -> period end -> [(customer, currency, monthly minor units)]
    cycles: dict[tuple[str, Month], dict[int, list[tuple[str, str, int]]]] = defaultdict(
        lambda: defaultdict(list))
    for (line_id, product, price, item, currency, proration, quantity, amount, discount,
         start, end, customer, subscription, status) in lines:
        if product not in recurring or status in {"draft", "void"}:
            continue
        interval, unit = prices[price]
        if proration:
            full = Decimal(quantity * unit * abs(amount)) / (abs(amount) + abs(discount))
            per_interval = 0 if amount == 0 else (1 if amount > 0 else -1) * _half_up(full)
        else:
            per_interval = amount
        monthly_sign = 1 if per_interval >= 0 else -1
        monthly = monthly_sign * _half_up(
            Decimal(abs(per_interval)) / MONTHS_PER_INTERVAL[interval])
        start_date = dt.datetime.fromtimestamp(start, tz).date()
        last_date = max(start_date, dt.datetime.fromtimestamp(end, tz).date()
                        - dt.timedelta(days=1))
        key = subscription or item or line_id
        for month in _months(_month(start_date), min(_month(last_date), snapshot)):
            cycles[(key, month)][end].append((customer, currency, monthly))

    totals: dict[tuple[str, Month], Decimal] = defaultdict(Decimal)
    for (_, month), by_end in cycles.items():
        for customer, currency, monthly in by_end[max(by_end)]:
            totals[(customer, month)] += Decimal(monthly).scaleb(-EXPONENT[currency.upper()])
    return {key: value for key, value in totals.items() if value != 0}


def test_dbt_writes_nothing_into_the_repository(built: tuple[Path, TieoutConfig]) -> None:
    for leftover in ("target", "logs", ".user.yml"):
        assert not (PROJECT_DIR / leftover).exists(), leftover


def test_every_billing_customer_is_in_dim_customer_exactly_once(
    built: tuple[Path, TieoutConfig],
) -> None:
    db, _ = built
    dim = [c for (c,) in rows(db, "select customer_id from marts.dim_customer")]
    raw = {c for (c,) in rows(db, "select id from raw_billing.customers")}
    assert len(dim) == len(set(dim)) == len(raw)
    assert set(dim) == raw
    [(linked,)] = rows(db, "select count(*) from marts.dim_customer where erp_customer_count = 1 "
                           "and erp_customer_id is not null")
    assert linked > 0


def test_dim_product_maps_revenue_accounts(built: tuple[Path, TieoutConfig]) -> None:
    db, _ = built
    accounts = dict(rows(db, "select revenue_class, revenue_account_number from marts.dim_product"))
    assert accounts["subscription"] == "4000"
    assert accounts["support"] == "4200"
    assert accounts["usage"] == "4100"


def test_mrr_matches_an_independent_python_recomputation(
    built: tuple[Path, TieoutConfig],
) -> None:
    db, cfg = built
    expected = python_mrr(db, cfg)
    actual = {(customer, (month.year, month.month)): mrr for customer, month, mrr in rows(
        db, "select customer_id, month, mrr_current from marts.fct_mrr_movements "
            "where mrr_current <> 0")}
    assert actual == expected

    # A customer who upgraded mid-term: MRR rises in the month of the proration invoice.
    tz = ZoneInfo(cfg.accounting_timezone)
    upgrades = rows(db, """
        select i.customer_id, min(l.period_start_at)
        from staging.stg_billing__invoice_lines l
        join staging.stg_billing__invoices i using (invoice_id)
        where l.is_proration and i.status <> 'void'
        group by 1 order by 1""")
    candidates = []
    for customer, changed_at in upgrades:
        month = changed_at.astimezone(tz).date().replace(day=1)
        previous = (month - dt.timedelta(days=1)).replace(day=1)
        if (customer, _month(previous)) in expected:  # not an upgrade in the first month
            candidates.append((customer, month, previous))
    assert candidates, "the company has no mid-term upgrade"
    customer, month, previous = candidates[0]
    [(movement, mrr_previous, mrr_current)] = rows(
        db, f"select movement_type, mrr_previous, mrr_current from marts.fct_mrr_movements "
            f"where customer_id = '{customer}' and month = '{month}'")
    assert movement == "expansion"
    assert mrr_previous == expected[(customer, _month(previous))]
    assert mrr_current == expected[(customer, _month(month))] > mrr_previous

def test_opening_plus_movements_equals_closing_every_month(
    built: tuple[Path, TieoutConfig],
) -> None:
    db, _ = built
    monthly = rows(db, """
        select legal_entity_code, month, prior_closing_mrr, fx_translation_mrr, opening_mrr,
               new_mrr, expansion_mrr, contraction_mrr, churned_mrr, reactivation_mrr,
               closing_mrr
        from marts.fct_mrr_monthly order by 1, 2""")
    assert len({entity for entity, *_ in monthly}) == 2
    assert len(monthly) > 20
    closing_by_month: dict[tuple[object, object], Decimal] = {}
    for (entity, month, prior, fx, opening, new, expansion, contraction, churn, reactivation,
         closing) in monthly:
        assert isinstance(closing, Decimal)
        assert opening + new + expansion - contraction - churn + reactivation == closing
        assert prior + fx == opening
        closing_by_month[(entity, month)] = closing
    sums = rows(db, """
        select legal_entity_code, month, sum(mrr_current_reporting)
        from marts.fct_mrr_movements group by 1, 2""")
    assert {(e, m): s for e, m, s in sums} == closing_by_month
    movements = dict(rows(db, "select movement_type, count(*) from marts.fct_mrr_movements "
                              "group by 1"))
    assert movements["new"] > 0 and movements["churn"] > 0 and movements["expansion"] > 0
