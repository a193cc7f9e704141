"""Money properties of the dbt SQL itself: no minor unit is lost or created.

``tests/unit/test_money.py`` proves the Python helpers (``tieout.money``); what the nightly
build actually computes is SQL.  Here the real models are compiled once by dbt and run in an
in-memory DuckDB on hypothesis-generated inputs, for amounts in every currency:

- the expected revenue schedule (``int_expected_revenue_schedule``): per line the pieces sum
  exactly to the line total, each is within one minor unit of its exact day share, and the
  pieces are exactly ``tieout.money.allocate_by_weight`` of the days per month (the rule the
  generator's revrec schedules follow too, DECISIONLOG "Money and time");
- conversion in ``fct_exceptions``: minor units to the currency's major units exactly, and to
  the reporting currency at the latest rate on or before the record's date, rounded half away
  from zero to the reporting exponent (DECISIONLOG "FX").  FX is rounded per exception, not
  allocated, so converting the parts of an amount and adding them may differ from converting
  the whole - by at most half a reporting minor unit per rounding, never more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tieout.money import CURRENCY_EXPONENTS, allocate_by_weight, to_major
from tieout.transform.dbt_vars import PROJECT_DIR
from tieout.transform.invocation import warehouse_env

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

EXAMPLES = 120
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
DATABASE = "money"  # the compiled SQL names relations "money"."intermediate"."..."
REPORTING = "USD"  # dbt_project.yml's default reporting currency
CURRENCIES = sorted(CURRENCY_EXPONENTS)
MODELS = {"schedule": "intermediate/revrec/int_expected_revenue_schedule.sql",
          "exceptions": "marts/fct_exceptions.sql"}
RULE_RELATIONS = ("int_rules__billing_erp", "int_rules__billing_revrec",
                  "int_rules__subscriptions_usage", "int_rules__ledger")
RULE_COLUMNS = (
    "rule VARCHAR, natural_key VARCHAR, entity VARCHAR, currency VARCHAR, period VARCHAR, "
    "timing_status VARCHAR, billing_amount_minor BIGINT, other_system VARCHAR, "
    "other_amount_minor BIGINT, difference_minor BIGINT, reason VARCHAR, billing_ref VARCHAR, "
    "erp_ref VARCHAR, revrec_ref VARCHAR, fx_date DATE")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The two models' SQL as dbt compiles them (one ``dbt compile`` per session)."""
    from dbt.cli.main import dbtRunner

    tmp = tmp_path_factory.mktemp("dbt_money")
    with warehouse_env(tmp / f"{DATABASE}.duckdb"):
        result = dbtRunner().invoke([
            "compile", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
            "--select", "int_expected_revenue_schedule", "fct_exceptions",
            "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"),
            "--quiet", "--no-send-anonymous-usage-stats",
        ])
    assert result.success, result.exception
    root = tmp / "target" / "compiled" / "tieout" / "models"
    return {name: (root / path).read_text() for name, path in MODELS.items()}


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory warehouse shaped like the one the compiled SQL names."""
    with duckdb.connect() as con:
        con.execute(f"ATTACH ':memory:' AS {DATABASE}")
        con.execute(f"CREATE SCHEMA {DATABASE}.intermediate")
        yield con


# ---- the expected revenue schedule --------------------------------------------------------
LINE_COLUMNS = ("invoice_line_id VARCHAR, expected_total_minor BIGINT, local_start_date DATE, "
                "local_end_date DATE, single_period VARCHAR, is_recognisable BOOLEAN")


def _amount(currency: str) -> st.SearchStrategy[int]:
    """Line totals in minor units: everyday, large and the extremes a BIGINT holds (net of
    credits a total can be negative)."""
    everyday = 10 ** (CURRENCY_EXPONENTS[currency] + 6)  # a million major units
    return st.one_of(st.integers(-everyday, everyday),
                     st.integers(-10**15, 10**15),
                     st.sampled_from([2**63 - 1, -(2**63 - 1), 1, -1, 0]))


@st.composite
def lines(draw: st.DrawFn) -> list[tuple[object, ...]]:
    """Invoice lines as int_billing__invoice_lines hands them to the schedule."""
    out = []
    for n in range(draw(st.integers(1, 8))):
        currency = draw(st.sampled_from(CURRENCIES))
        start = draw(st.dates(dt.date(2000, 1, 1), dt.date(2098, 12, 31)))
        if draw(st.booleans()):  # ratable over 1 day .. 3 years
            end = start + dt.timedelta(days=draw(st.integers(1, 1100)))
            single = None
        else:  # point in time, usage or sub-day: one piece in its period
            end, single = start, start.strftime("%Y-%m")
        out.append((f"il_{n}_{currency}", draw(_amount(currency)), start, end, single,
                    draw(st.integers(0, 9)) > 0))
    return out


def _days_per_month(start: dt.date, end: dt.date) -> dict[str, int]:
    """Service days of [start, end) in each calendar month, in order."""
    days: dict[str, int] = {}
    day = start
    while day < end:
        days[day.strftime("%Y-%m")] = days.get(day.strftime("%Y-%m"), 0) + 1
        day += dt.timedelta(days=1)
    return days


@SETTINGS
@given(batch=lines())
def test_expected_schedule_pieces_sum_to_the_line_and_stay_within_a_unit(
        compiled: dict[str, str], con: duckdb.DuckDBPyConnection,
        batch: list[tuple[object, ...]]) -> None:
    con.execute(f"CREATE OR REPLACE TABLE {DATABASE}.intermediate.int_billing__invoice_lines "
                f"({LINE_COLUMNS})")
    con.executemany(f"INSERT INTO {DATABASE}.intermediate.int_billing__invoice_lines VALUES "
                    "(?, ?, ?, ?, ?, ?)", batch)
    pieces: dict[str, list[tuple[str, int | None, int]]] = {}
    for line_id, period, days, amount in con.execute(
            f"SELECT * FROM ({compiled['schedule']}) ORDER BY 1, 2").fetchall():
        pieces.setdefault(line_id, []).append((period, days, amount))

    assert set(pieces) == {line_id for line_id, *_, ok in batch if ok}
    for line_id, total, start, end, single, ok in batch:
        if not ok:
            continue
        got = pieces[line_id]
        assert sum(amount for *_, amount in got) == total, (line_id, got)
        if single is not None:
            assert got == [(single, None, total)]
            continue
        assert isinstance(start, dt.date) and isinstance(end, dt.date)
        assert isinstance(total, int)
        per_month = _days_per_month(start, end)
        assert [(p, d) for p, d, _ in got] == list(per_month.items())
        whole = sum(per_month.values())
        for _period, days, amount in got:
            assert days is not None
            assert abs(amount - Fraction(total * days, whole)) < 1, (line_id, got)
        assert [a for *_, a in got] == allocate_by_weight(total, list(per_month.values()))


# ---- conversion in fct_exceptions ---------------------------------------------------------
RATE_DAYS = [dt.date(2025, 1, 1) + dt.timedelta(days=7 * i) for i in range(4)]
# Any rate a DECIMAL(20, 10) holds, and short ones that put many products exactly halfway
# between two cents (where half-up, half-even and binary floating point part ways).
rates = st.one_of(
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("20000"), places=10,
                allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal(r) for r in ("0.5", "0.25", "0.125", "1.5", "0.005", "0.0125",
                                          "2.5", "0.0005", "1.005")]))


@st.composite
def exceptions(draw: st.DrawFn) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]],
                                         list[list[int]]]:
    """Rule rows and rate rows; each amount is also split into parts that sum to it (same
    currency and date), so the parts and the whole are converted side by side."""
    rate_rows = [(day, ccy, draw(rates)) for day in RATE_DAYS for ccy in CURRENCIES
                 if ccy != REPORTING]
    rate_rows += [(day, REPORTING, Decimal(1)) for day in RATE_DAYS]
    rows: list[tuple[object, ...]] = []
    groups: list[list[int]] = []
    for n in range(draw(st.integers(1, 6))):
        currency = draw(st.sampled_from(CURRENCIES))
        fx_date = draw(st.dates(RATE_DAYS[0] - dt.timedelta(days=3),
                                RATE_DAYS[-1] + dt.timedelta(days=10)))
        billing = draw(st.integers(-10**12, 10**12))
        difference = draw(st.one_of(st.integers(-10**12, 10**12), st.integers(-999, 999)))
        cuts = sorted(draw(st.lists(st.integers(-10**12, 10**12), max_size=5)))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, difference], strict=True)]
        group = []
        for k, part in enumerate([difference, *parts]):
            group.append(len(rows))
            amount = part if k else difference
            rows.append(("AMOUNT_MISMATCH", f"invoice:in_{n}_{k}", "US01", currency, "2025-01",
                         None, billing, "erp", billing + amount, amount, "differs", "b", "e",
                         None, fx_date))
        groups.append(group)
    return rows, rate_rows, groups


def _rate(rate_rows: list[tuple[object, ...]], currency: str, day: dt.date) -> Decimal | None:
    """The latest rate on or before ``day`` (weekends and holidays take the last one)."""
    known = [(d, r) for d, c, r in rate_rows if c == currency and isinstance(d, dt.date)
             and d <= day]
    if not known:
        return None
    rate = max(known, key=lambda item: item[0])[1]
    assert isinstance(rate, Decimal)
    return rate


@SETTINGS
@given(case=exceptions())
def test_fx_conversion_is_exact_and_rounds_once_per_amount(
        compiled: dict[str, str], con: duckdb.DuckDBPyConnection,
        case: tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[list[int]]],
) -> None:
    rows, rate_rows, groups = case
    schema = f"{DATABASE}.intermediate"
    for relation in RULE_RELATIONS:
        con.execute(f"CREATE OR REPLACE TABLE {schema}.{relation} ({RULE_COLUMNS})")
    # the support rules carry one more column (support_ref); empty here
    con.execute(f"CREATE OR REPLACE TABLE {schema}.int_rules__support "
                f"({RULE_COLUMNS}, support_ref VARCHAR)")
    for i, row in enumerate(rows):  # spread over the four rule models the mart unions
        con.execute(f"INSERT INTO {schema}.{RULE_RELATIONS[i % 4]} VALUES "
                    f"({', '.join('?' * len(row))})", row)
    con.execute(f"CREATE OR REPLACE TABLE {schema}.int_fx__reporting_rates "
                "(rate_date DATE, currency VARCHAR, rate DECIMAL(20, 10))")
    con.executemany(f"INSERT INTO {schema}.int_fx__reporting_rates VALUES (?, ?, ?)", rate_rows)
    got = {key: rest for key, *rest in con.execute(
        "SELECT natural_key, billing_amount, other_amount, difference, fx_rate, "
        f"difference_reporting, reporting_currency FROM ({compiled['exceptions']})").fetchall()}
    assert len(got) == len(rows)

    unit = Decimal(1).scaleb(-CURRENCY_EXPONENTS[REPORTING])
    converted: list[Decimal | None] = []
    for row in rows:
        key, currency, billing, other, difference, fx_date = (
            row[1], row[3], row[6], row[8], row[9], row[14])
        assert isinstance(key, str) and isinstance(currency, str)
        assert isinstance(billing, int) and isinstance(other, int)
        assert isinstance(difference, int) and isinstance(fx_date, dt.date)
        b, o, d, rate, reporting, ccy = got[key]
        # minor -> major: exact, the currency's own exponent, nothing rounded
        assert (b, o, d) == (to_major(billing, currency), to_major(other, currency),
                             to_major(difference, currency))
        assert ccy == REPORTING
        expected_rate = _rate(rate_rows, currency, fx_date)
        assert rate == expected_rate
        expected = None if expected_rate is None else (
            to_major(difference, currency) * expected_rate).quantize(unit, ROUND_HALF_UP)
        assert reporting == expected, (key, currency, difference, expected_rate)
        converted.append(reporting)

    for whole, *parts in groups:
        total, pieces = converted[whole], [converted[p] for p in parts]
        if total is None:
            assert all(p is None for p in pieces)
            continue
        assert all(p is not None for p in pieces)
        drift = abs(sum(p for p in pieces if p is not None) - total) / unit
        # each of the len(parts) + 1 conversions rounds once, by at most half a unit
        assert drift <= Fraction(len(parts) + 1, 2), (whole, parts, drift)
        assert drift == drift.to_integral_value()


def test_the_models_compiled_with_the_default_reporting_currency(
        compiled: dict[str, str]) -> None:
    """The properties above assume dbt_project.yml's defaults (USD, 2 decimals)."""
    assert f"cast('{REPORTING}' as varchar) as reporting_currency" in compiled["exceptions"]
    assert f"difference * fx_rate, {CURRENCY_EXPONENTS[REPORTING]})" in compiled["exceptions"]
    assert f'"{DATABASE}"."intermediate"."int_billing__invoice_lines"' in compiled["schedule"]
