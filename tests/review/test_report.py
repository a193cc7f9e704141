"""The HTML close report: figures equal the review state, output is safe and self-contained.

The world is the review tests' hand-made warehouse plus what the report also reads: a second
run (for the trend), people's edits, usage journal batches and a hand-made roll-forward mart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.review.world import ROWS, T0, Row, World, make_world
from tieout.cli.report import report
from tieout.config import load_config
from tieout.errors import InputError
from tieout.report import ReportData, charts, gather, money, parse_period, render_html, write_report
from tieout.review import Change, Filters, Status, apply_changes, close_period, list_review
from tieout.warehouse.connection import open_read_only

PERIOD = "2025-12"
NOW = T0 + dt.timedelta(days=10)
HOSTILE = "<script>alert(1)</script> & \"quoted\" 'single' <img src=x onerror=alert(2)>"
EXTRA = (
    Row("e6", "AMOUNT_MISMATCH", "invoice:in_6", "EU01", "EUR", PERIOD, Decimal("10.00"),
        Decimal("30.00"), Decimal("21.6000"), reason=HOSTILE),
    Row("e7", "SCHEDULE_MISSING", "invoice_line:il_7", "JP01", "JPY", PERIOD,
        Decimal("34000"), None, Decimal("-240.5800")),
)
ROLLFORWARD_DDL = """CREATE TABLE marts.fct_deferred_revenue_rollforward (
    legal_entity_code VARCHAR, currency VARCHAR, period VARCHAR, is_closed BOOLEAN,
    revrec_opening_balance DECIMAL(20, 4), revrec_bookings DECIMAL(20, 4),
    revrec_recognised DECIMAL(20, 4), revrec_closing_balance DECIMAL(20, 4),
    erp_opening_balance DECIMAL(20, 4), erp_movement DECIMAL(20, 4),
    erp_closing_balance DECIMAL(20, 4), movement_difference DECIMAL(20, 4), is_break BOOLEAN)"""
JOURNAL_INSERT = """INSERT INTO ops.journal_batches (batch_id, batch_version, external_id,
    legal_entity, currency, window_start, window_end, posting_period, amount, status,
    created_at, updated_at, kind, accounting_period, attempts, last_error)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'original', ?, ?, ?)"""
# (batch, version, entity, currency, posting period, accounting period, amount, status, error)
JOURNALS = (
    ("u1", 1, "US01", "USD", PERIOD, PERIOD, "120.50", "posted", None),
    ("u1", 2, "US01", "USD", "2026-01", PERIOD, "-20.25", "posted", None),  # late usage
    ("u2", 1, "JP01", "JPY", PERIOD, PERIOD, "10707", "posted", None),
    ("u3", 1, "EU01", "EUR", PERIOD, None, "8.00", "dead_letter", "HTTP 400: <b>closed</b> & gone"),
    ("u4", 1, "EU01", "EUR", "2025-11", "2025-11", "99.00", "failed", "other period"),
)


def build_world(root: Path, *, rollforward: bool = True) -> World:
    """Two runs, edits, journals and (optionally) a roll-forward with one break."""
    rows = (*ROWS, *EXTRA)
    world = make_world(root, rows)
    world.run([r for r in rows if r.exception_id != "e1"], "run-2", T0 + dt.timedelta(days=1))
    with world.connect() as con:
        apply_changes(con, [
            Change("e2", status=Status.INVESTIGATING, owner="<b>bob</b>"),
            Change("e6", status=Status.WAIVED, reason="accepted: rounding"),
        ], "controller", now=T0 + dt.timedelta(days=2))
        for batch, version, entity, ccy, posting, accounting, amount, status, error in JOURNALS:
            start = dt.datetime(2025, 12, 10, tzinfo=dt.UTC)
            con.execute(JOURNAL_INSERT, [
                batch, version, f"{batch}:v{version}", entity, ccy, start,
                start + dt.timedelta(hours=1), posting, Decimal(amount), status, start, start,
                accounting, 5 if status == "dead_letter" else 1, error])
        if rollforward:
            con.execute(ROLLFORWARD_DDL)
            con.executemany(
                "INSERT INTO marts.fct_deferred_revenue_rollforward VALUES "
                "(?, ?, ?, true, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [("US01", "USD", PERIOD, *(Decimal(v) for v in (
                    "1000", "500", "400", "1100", "1000", "100", "1100", "0")), False),
                 ("JP01", "JPY", PERIOD, *(Decimal(v) for v in (
                     "6450618", "3483000", "0", "9933618", "6342452", "3483000", "9825452",
                     "-7225")), True),
                 ("US01", "USD", "2025-11", *(Decimal(0),) * 8, False)])
    return world


def figures(world: World, period: str = PERIOD) -> ReportData:
    """The report's figures of ``period``, read the way ``tieout report`` reads them."""
    con = open_read_only(world.warehouse)
    try:
        return gather(con, load_config(world.config), period, now=NOW)
    finally:
        con.close()


def review_rows(world: World, period: str = PERIOD) -> list[dict]:
    con = open_read_only(world.warehouse)
    try:
        return list_review(con, Filters(period=period), now=NOW)
    finally:
        con.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Shared by the tests that only read (building it takes most of a second)."""
    return build_world(tmp_path_factory.mktemp("report") / "w")


def test_figures_equal_the_review_state(world: World) -> None:
    data = figures(world)
    rows = review_rows(world)
    assert data.total == len(rows) == 5  # e1 (auto-resolved), e2, e3, e6, e7
    assert {f.status: f.count for f in data.by_status} == {
        **{s.value: 0 for s in Status}, **Counter(r["status"] for r in rows)}
    assert data.count("resolved") == 1 and data.count("investigating") == 1
    assert data.count("waived") == 1 and data.count("open") == 2
    for figure in data.by_status:
        expected = sum((abs(r["difference_reporting"]) for r in rows
                        if r["status"] == figure.status), Decimal(0))
        assert figure.amount == expected and isinstance(figure.amount, Decimal)
    # open = open + investigating: e2 (4.16), e3 (5400), e7 (240.58)
    assert data.open_amount == Decimal("5644.74")
    assert data.material_open == 1 and data.close.blocking == 1 and not data.close.closed
    by_rule = {f.key: f for f in data.by_rule}
    assert {k: f.total for k, f in by_rule.items()} == Counter(r["rule"] for r in rows)
    assert by_rule["AMOUNT_MISMATCH"].counts == {"open": 0, "investigating": 1,
                                                 "resolved": 1, "waived": 1}
    assert by_rule["AMOUNT_MISMATCH"].open_amount == Decimal("4.16")
    assert by_rule["INVOICE_MISSING_IN_ERP"].material_open == 1
    assert [f.key for f in data.by_entity] == ["US01", "JP01", "EU01"]  # largest open first
    assert sum(a.count for a in data.ageing) == 3  # only open and investigating age
    assert [t.exception_id for t in data.top] == ["e3", "e7", "e6", "e1", "e2"]
    assert data.top[0].difference_reporting == Decimal("-5400.0000")


def test_period_scope_trend_journals_and_rollforward(world: World) -> None:
    data = figures(world)
    assert [(r.run_id, r.open_count) for r in data.runs] == [("run-1", 7), ("run-2", 6)]
    assert data.runs[0].amount == sum((abs(r.difference_reporting) for r in (*ROWS, *EXTRA)),
                                      Decimal(0))
    assert data.runs[1].auto_resolved == 1
    journal = {(j.status, j.currency): (j.batches, j.amount) for j in data.journal}
    assert journal == {("posted", "USD"): (2, Decimal("100.25")),
                       ("posted", "JPY"): (1, Decimal("10707")),
                       ("dead_letter", "EUR"): (1, Decimal("8.00"))}
    assert [b.batch_id for b in data.dead_letters] == ["u3"]
    assert data.rollforward is not None
    assert [(r.entity, r.is_break) for r in data.rollforward] == [("JP01", True),
                                                                  ("US01", False)]
    assert data.breaks == 1
    # the undated AR exception belongs to the period of its run in the accounting time zone
    january = figures(world, "2026-01")
    assert [t.exception_id for t in january.top] == ["e5"]
    assert january.rollforward == ()
    # a batch counts in its accounting period and in the period it was posted to
    assert [(j.batches, j.amount) for j in january.journal] == [(1, Decimal("-20.25"))]


def test_signed_off_period_shows_who_and_why(tmp_path: Path) -> None:
    world = build_world(tmp_path / "w", rollforward=False)
    with world.connect() as con:
        close_period(con, PERIOD, "anna", override=True, reason="memo <42> & co",
                     now=T0 + dt.timedelta(days=3))
    data = figures(world)
    assert data.close.closed and data.close.override and data.close.closed_by == "anna"
    assert data.close.material_open_at_close == 1
    html = render_html(data)
    assert "Signed off with override" in html and "memo &lt;42&gt; &amp; co" in html


def test_values_from_data_are_escaped(world: World) -> None:
    html = render_html(figures(world))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quoted&#34; &#39;single&#39;" \
        in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;b&gt;bob&lt;/b&gt;" in html and "<b>" not in html
    assert "HTTP 400: &lt;b&gt;closed&lt;/b&gt; &amp; gone" in html


def test_hostile_labels_inside_charts_are_escaped(tmp_path: Path) -> None:
    rows = [Row("x1", "AMOUNT_MISMATCH", "invoice:x", '<g onload="x()">&', "USD", PERIOD,
                Decimal("1"), Decimal("2"), Decimal("1"))]
    world = make_world(tmp_path / "h", rows)
    html = render_html(figures(world))
    assert '<g onload' not in html and "&lt;g onload=&#34;x()&#34;&gt;&amp;" in html
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        ET.fromstring(svg)


def test_no_remote_resources(world: World) -> None:
    html = render_html(figures(world))
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, flags=re.I)
    assert not re.search(r"url\(", html, flags=re.I)
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<(link|script|iframe|object|embed|img)\b", html, flags=re.I)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_amounts_use_each_currency_exponent(world: World) -> None:
    html = render_html(figures(world))
    assert "10,707</td>" in html and "10,707.00" not in html  # JPY journal
    assert "6,450,618</td>" in html and "6,450,618.00" not in html  # JPY roll-forward
    assert "JPY -34,000</td>" in html  # JPY exception in its own currency
    assert "100.25</td>" in html and "5,644.74" in html  # USD: two places
    assert money(Decimal("1234.5"), "JPY") == "1,235"
    assert money(Decimal("-0.005"), "USD") == "-0.01"
    assert money(Decimal("1"), "XXX") == "1.00" and money(None, "USD") == "—"


def test_rollforward_breaks_are_highlighted(world: World) -> None:
    html = render_html(figures(world))
    section = html[html.index('id="rollforward"'):html.index('id="top"')]
    assert section.count('<tr class="break">') == 1 and "1 break(s)" in section
    assert section.index("JP01") < section.index('class="flag-break">Break')


def test_missing_rollforward_says_not_built(tmp_path: Path) -> None:
    world = build_world(tmp_path / "w", rollforward=False)
    data = figures(world)
    assert data.rollforward is None
    assert "is not built in\n    this warehouse" in render_html(data)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", "",
                                  "2026-01-01", "abcd-ef"])
def test_bad_period_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="--period"):
        parse_period(text)


def test_cli_rejects_a_bad_period_before_reading_anything(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(report)
    result = CliRunner().invoke(app, ["--period", "2026-13", "--config",
                                      str(tmp_path / "missing.toml")])
    assert isinstance(result.exception, InputError)
    assert "--period '2026-13'" in str(result.exception)
    assert "\n" not in str(result.exception)


def test_cli_writes_the_report_where_it_says(world: World, capsys: pytest.CaptureFixture
                                             ) -> None:
    report(period=PERIOD, config=world.config, out=None)
    expected = world.warehouse.parent / "reports" / f"close-{PERIOD}.html"
    assert capsys.readouterr().out.strip() == str(expected)
    assert expected.read_text().startswith("<!DOCTYPE html>")
    out = world.warehouse.parent / "elsewhere" / "r.html"
    report(period=PERIOD, config=world.config, out=out)
    assert capsys.readouterr().out.strip() == str(out) and out.is_file()
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temporary left


def test_report_without_review_state_is_one_clear_error(tmp_path: Path) -> None:
    from tieout.errors import TieoutError
    from tieout.warehouse.connection import open_warehouse

    world = make_world(tmp_path / "w")
    empty = tmp_path / "empty.duckdb"
    open_warehouse(empty).execute("DROP TABLE ops.exception_review").close()
    cfg = load_config(world.config)
    with pytest.raises(TieoutError, match="no review state"):
        write_report(dataclasses.replace(cfg, warehouse=empty), PERIOD)


def test_charts_are_valid_svg_with_titles() -> None:
    series = [charts.Series("Open", "#c00"), charts.Series("Waived", "#777")]
    svgs = [
        charts.bar_chart("b", "Bars", [charts.Bar("US01", Decimal("12.50"), "12.50"),
                                       charts.Bar("<EU&01>", 0, "0.00")]),
        charts.bar_chart("b0", "No bars", []),
        charts.bar_chart("bz", "Zero bars", [charts.Bar("A", 0, "0")]),
        charts.stacked_bar_chart("s", "Stacks", series, [
            charts.Stack("AMOUNT_MISMATCH", (3, 1), "4"), charts.Stack("X", (0, 0), "0")]),
        charts.stacked_bar_chart("s0", "No stacks", series, []),
        charts.line_chart("l0", "No runs", []),
        charts.line_chart("l1", "One run", [charts.Point("01-05", Decimal("5400.00"), "5,400")]),
        charts.line_chart("l2", "Runs", [charts.Point(f"01-{d:02}", Decimal(d * 37), str(d))
                                         for d in range(1, 20)], whole=True, unit="USD"),
        charts.line_chart("lz", "Zeros", [charts.Point("a", 0, "0"), charts.Point("b", 0, "0")]),
    ]
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag == "svg" and root.get("role") == "img"
        title = root.find("title")
        assert title is not None and title.text
        assert root.find("desc") is not None
        for element in root.iter():
            for name in ("x", "y", "width", "height", "cx", "cy"):
                value = element.get(name)
                assert value is None or float(value) == float(value)  # never NaN
    assert "No runs recorded yet" in svgs[5]
    assert "<polyline" not in svgs[6] and "<circle" in svgs[6]
    assert len(re.findall(r"<text[^>]*>01-", svgs[7])) <= 6  # x labels thinned out
    assert re.search(r"<text[^>]*>01-19</text>", svgs[7])  # the last run always labelled


def test_nice_ticks_are_exact_decimals() -> None:
    assert charts.nice_ticks(Decimal("75004.56")) == [Decimal(v) for v in
                                                      (0, 20000, 40000, 60000, 80000)]
    assert charts.nice_ticks(Decimal(3), whole=True) == [Decimal(v) for v in (0, 1, 2, 3)]
    assert charts.nice_ticks(Decimal("0.31"))[-1] == Decimal("0.4")
    assert charts.nice_ticks(Decimal(0)) == [Decimal(0), Decimal(1)]
    assert charts.tick_text(Decimal("20000")) == "20,000"
    assert charts.tick_text(Decimal("0.10")) == "0.1"
