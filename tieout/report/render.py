"""The close report as one self-contained HTML file: inline CSS and SVG, nothing fetched.

Controllers archive the report with the close and open it offline, or print it; so the file
carries everything it shows, and a Content-Security-Policy forbids it to load anything at all
(a stray reference would show up as a blocked request, not as a silent call home).  Jinja2
autoescapes every value: exception reasons and error messages come from source systems and
may contain ``<``, ``&`` or quotes.  Only the charts, which escape their own text, are
inserted as markup.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import jinja2
from markupsafe import Markup

from tieout.config import TieoutConfig
from tieout.money import UnknownCurrencyError, exponent
from tieout.review.status import Status
from tieout.rules import RULES
from tieout.warehouse.connection import open_read_only

from . import charts
from .data import ReportData, gather, parse_period

STATUS_COLORS = {Status.OPEN.value: "#c0392b", Status.INVESTIGATING.value: "#d68910",
                 Status.RESOLVED.value: "#2e8b57", Status.WAIVED.value: "#7f8c8d"}
DASH = "—"
HALF = 540  # charts two to a row


def money(amount: Decimal | None, currency: str | None) -> str:
    """An amount at its currency's precision (JPY none), half up, with thousands commas."""
    if amount is None:
        return DASH
    try:
        places = exponent(currency or "")
    except UnknownCurrencyError:
        places = 2
    return f"{amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,}"


def figure(value: float | Decimal | None, places: int = 0) -> str:
    """A measured figure (not money) with thousands separators, or a dash when unmeasured."""
    return DASH if value is None else f"{value:,.{places}f}"


def default_report_path(cfg: TieoutConfig, period: str) -> Path:
    """``<warehouse folder>/reports/close-<period>.html``: beside the data it reports on."""
    return cfg.warehouse.parent / "reports" / f"close-{parse_period(period)}.html"


def write_report(cfg: TieoutConfig, period: str, out: Path | None = None,
                 now: dt.datetime | None = None) -> Path:
    """Gather ``period``'s figures read-only, render them and write the file atomically.

    Read-only so a report never takes the lock a run needs; written to a temporary file and
    renamed so an interrupted run never leaves half a report where the last good one was.
    """
    period = parse_period(period)
    con = open_read_only(cfg.warehouse)
    try:
        data = gather(con, cfg, period, now=now)
    finally:
        con.close()
    target = Path(out) if out is not None else default_report_path(cfg, period)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(render_html(data), encoding="utf-8")
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def render_html(data: ReportData) -> str:
    """The report of ``data`` as a complete HTML document."""
    zone = zoneinfo.ZoneInfo(data.timezone)

    def when(value: dt.datetime | None) -> str:
        if value is None:
            return DASH
        if value.tzinfo is None:  # the warehouse stores UTC
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=money, when=when, num=lambda n: f"{n:,}", figure=figure,
                       utc=lambda v: v.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                       label=lambda s: str(s).replace("_", " ").capitalize())
    template = env.from_string(TEMPLATE)
    year, month = (int(p) for p in data.period.split("-"))
    return template.render(
        d=data, ccy=data.reporting_currency, statuses=[s.value for s in Status],
        colors=STATUS_COLORS, rules=RULES,
        period_name=dt.date(year, month, 1).strftime("%B %Y"),
        DASH=DASH, charts={name: Markup(svg) for name, svg in _charts(data, zone).items()})


def _charts(data: ReportData, zone: zoneinfo.ZoneInfo) -> dict[str, str]:
    """Every chart of the report, as SVG text (half-width ones drawn at half width).

    Run ids (long in Dagster) stay in the runs table; the trend's points say date and value.
    """
    ccy = data.reporting_currency
    series = [charts.Series(s.value.capitalize(), STATUS_COLORS[s.value]) for s in Status]
    by_rule = charts.stacked_bar_chart(
        "chart-rules", f"Exceptions of {data.period} by rule and status", series,
        [charts.Stack(f.key, tuple(f.counts[s.value] for s in Status), f"{f.total:,}")
         for f in data.by_rule], empty="No exceptions in this period")
    by_entity = charts.bar_chart(
        "chart-entities", f"Open amount by entity ({ccy})",
        [charts.Bar(f.key, f.open_amount, f"{money(f.open_amount, ccy)} · {f.open:,} open")
         for f in data.by_entity], empty="No exceptions in this period")
    ageing = charts.stacked_bar_chart(
        "chart-ageing", "Open and investigating exceptions by age since first detection",
        series[:2],
        [charts.Stack(a.bucket, (a.open, a.investigating), f"{a.count:,}")
         for a in data.ageing], width=HALF, label_width=100)
    runs = data.runs
    labels = _run_labels([r.synced_at.astimezone(zone) for r in runs])
    trend_count = charts.line_chart(
        "chart-trend-count", "Open exceptions per run (all periods)",
        [charts.Point(label, r.open_count, f"{r.open_count:,} open, {r.material_count:,} "
                      "material") for label, r in zip(labels, runs, strict=True)],
        whole=True, color="#c0392b", width=HALF)
    trend_amount = charts.line_chart(
        "chart-trend-amount", f"Open amount per run, {ccy} (all periods)",
        [charts.Point(label, r.amount, money(r.amount, ccy))
         for label, r in zip(labels, runs, strict=True)], unit=ccy, color="#2f6690",
        width=HALF)
    return {"rules": by_rule, "entities": by_entity, "ageing": ageing,
            "trend_count": trend_count, "trend_amount": trend_amount,
            **_operations_charts(data, zone)}


def _operations_charts(data: ReportData, zone: zoneinfo.ZoneInfo) -> dict[str, str]:
    """The operating metrics over runs; a run that did not measure a figure has no point."""
    runs = data.operations.runs if data.operations is not None else ()

    def line(chart_id: str, title: str, values: list[tuple[dt.datetime, Decimal, str]], *,
             whole: bool = False, unit: str = "", color: str = "#2f6690") -> str:
        labels = _run_labels([at.astimezone(zone) for at, _, _ in values])
        return charts.line_chart(chart_id, title, [
            charts.Point(label, value, text)
            for label, (_, value, text) in zip(labels, values, strict=True)],
            whole=whole, unit=unit, color=color, width=HALF, empty="No run measured it yet")

    return {
        "ops_records": line("chart-ops-records", "Records extracted per run", [
            (r.recorded_at, r.records, f"{r.records:,} records") for r in runs
            if r.records is not None], whole=True),
        "ops_latency": line("chart-ops-latency", "API latency p95 per run (slowest endpoint)", [
            (r.recorded_at, r.latency_p95_ms, f"{r.latency_p95_ms:,} ms") for r in runs
            if r.latency_p95_ms is not None], unit="ms", color="#d68910"),
        "ops_retries": line("chart-ops-retries", "API retries and errors per run", [
            (r.recorded_at, r.retries + r.errors, f"{r.retries:,} retries, {r.errors:,} errors")
            for r in runs], whole=True, color="#c0392b"),
        "ops_posting": line("chart-ops-posting", "Journal posting success rate per run", [
            (r.recorded_at, r.posting_success_rate * 100, f"{r.posting_success_rate:.2%}")
            for r in runs if r.posting_success_rate is not None], unit="%", color="#2e8b57"),
        "ops_quarantined": line("chart-ops-quarantined", "Records quarantined per run", [
            (r.recorded_at, r.quarantined, f"{r.quarantined:,} quarantined") for r in runs
            if r.quarantined is not None], whole=True, color="#7f8c8d"),
    }


def _run_labels(times: Sequence[dt.datetime]) -> list[str]:
    """Runs on the x axis by local date; with the hour when several runs share a day."""
    unique_days = len({t.date() for t in times}) == len(times)
    return [t.strftime("%m-%d" if unique_days else "%m-%d %H:%M") for t in times]


TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tieout">
<title>{{ d.company }} · close report {{ d.period }}</title>
<style>
:root { --ink: #1f2a33; --muted: #5f6b76; --line: #d5dce2; --soft: #f4f6f8;
        --red: #c0392b; --amber: #b9770e; --green: #2e7d4f; --blue: #2f6690; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.4;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
             Arial, sans-serif; }
.page { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
header.top { display: flex; gap: 24px; justify-content: space-between; align-items: flex-start;
             border-bottom: 3px solid var(--ink); padding-bottom: 18px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px;
           color: var(--muted); margin: 0 0 4px; }
h1 { font-size: 26px; margin: 0 0 12px; }
h2 { font-size: 18px; margin: 0 0 4px; padding-top: 6px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; margin: 0;
        font-size: 13px; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; }
.status-box { min-width: 300px; max-width: 420px; border-radius: 6px; padding: 12px 16px;
              border: 2px solid; font-size: 13px; }
.status-box .state { font-size: 18px; font-weight: 700; margin: 0 0 4px; }
.status-box p { margin: 2px 0; }
.status-box.signed { border-color: var(--green); background: #eaf6ef; }
.status-box.signed .state { color: var(--green); }
.status-box.override { border-color: var(--amber); background: #fdf3e3; }
.status-box.override .state { color: var(--amber); }
.status-box.blocked { border-color: var(--red); background: #fbeceb; }
.status-box.blocked .state { color: var(--red); }
.status-box.ready { border-color: var(--blue); background: #ebf2f8; }
.status-box.ready .state { color: var(--blue); }
section { margin-top: 30px; }
.note { color: var(--muted); font-size: 12.5px; margin: 2px 0 10px; }
.cards { display: grid; grid-template-columns: repeat(8, 1fr); gap: 10px;
         margin: 12px 0 16px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
        background: var(--soft); }
.card .k { font-size: 12px; color: var(--muted); margin: 0; }
.card .v { font-size: 22px; font-weight: 700; margin: 2px 0 0; text-align: right;
           font-variant-numeric: tabular-nums; white-space: nowrap; }
.card.alert { border-color: var(--red); background: #fbeceb; }
.card.alert .v { color: var(--red); }
.card.wide { grid-column: span 2; }
@media (max-width: 900px) { .cards { grid-template-columns: repeat(4, 1fr); } }
table.narrow { width: auto; min-width: 520px; }
.key { color: var(--muted); display: block; }
.nowrap { white-space: nowrap; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0 4px; }
caption { text-align: left; font-size: 12.5px; color: var(--muted); padding: 0 0 4px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top;
         text-align: left; }
thead th { background: var(--soft); border-bottom: 2px solid var(--ink); font-weight: 600;
           white-space: nowrap; }
thead th.group { text-align: center; border-bottom: 1px solid var(--line); }
tfoot td, tfoot th { border-top: 2px solid var(--ink); font-weight: 700; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
        font-size: 12px; }
td.reason { min-width: 170px; max-width: 360px; }
tr.break > * { background: #fbeceb; }
table.dense { font-size: 12.5px; }
table.dense th, table.dense td { padding: 5px 6px; }
.flag-break { color: var(--red); font-weight: 700; }
.flag-ok { color: var(--green); }
.pill { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px;
        color: #fff; white-space: nowrap; }
.badge { display: inline-block; padding: 0 5px; border-radius: 3px; font-size: 11px;
         border: 1px solid var(--red); color: var(--red); margin-left: 4px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
          margin-right: 6px; vertical-align: baseline; }
figure { margin: 10px 0 6px; }
figcaption { font-size: 13px; font-weight: 600; margin-bottom: 4px; }
svg.chart { max-width: 100%; height: auto; display: block; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr));
         gap: 8px 28px; align-items: start; }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 36px; border-top: 1px solid var(--line); padding-top: 10px;
         color: var(--muted); font-size: 12px; }
@page { size: A4 landscape; margin: 12mm; }  /* the roll-forward has twelve columns */
@media print {
  body { font-size: 10pt; }
  thead th { white-space: normal; }
  .page { max-width: none; padding: 0; }
  section { margin-top: 18px; break-inside: avoid-page; }  /* a section that fits stays whole */
  #top, #journals { break-inside: auto; }
  h2, h3, figcaption { break-after: avoid; }
  figure, tr, .cards, .status-box { break-inside: avoid; }
  thead { display: table-header-group; }
  table { font-size: 8.5pt; }
  td.reason { max-width: 240px; }
}
</style>
</head>
<body>
<div class="page">
<header class="top">
  <div>
    <p class="eyebrow">Month-end close report</p>
    <h1>{{ d.company }} · {{ period_name }}</h1>
    <dl class="meta">
      <dt>Period</dt><dd>{{ d.period }}</dd>
      <dt>Generated</dt><dd>{{ d.generated_at | when }} ({{ d.generated_at | utc }})</dd>
      <dt>Accounting time zone</dt><dd>{{ d.timezone }}</dd>
      <dt>Reporting currency</dt><dd>{{ ccy }}</dd>
    </dl>
  </div>
  {% set c = d.close %}
  {% if c.closed and c.override %}
  <div class="status-box override" role="status">
    <p class="state">Signed off with override</p>
    <p>by <strong>{{ c.closed_by }}</strong> on {{ c.closed_at | when }}</p>
    <p>{{ c.material_open_at_close | num }} material exception(s) were open at sign-off.</p>
    <p>Override reason: <em>{{ c.override_reason or "(none given)" }}</em></p>
  {% elif c.closed %}
  <div class="status-box signed" role="status">
    <p class="state">Signed off</p>
    <p>by <strong>{{ c.closed_by }}</strong> on {{ c.closed_at | when }}</p>
    <p>No material exception was open at sign-off.</p>
    {% if c.override_reason %}<p>Note: <em>{{ c.override_reason }}</em></p>{% endif %}
  {% elif c.blocking %}
  <div class="status-box blocked" role="status">
    <p class="state">Open · close blocked</p>
    <p><strong>{{ c.blocking | num }}</strong> material exception(s) still open or under
       investigation block the sign-off.</p>
  {% else %}
  <div class="status-box ready" role="status">
    <p class="state">Open · ready to close</p>
    <p>No material exception is open; the period can be signed off.</p>
  {% endif %}
  {% if c.closed and c.blocking %}
    <p><strong>{{ c.blocking | num }}</strong> material exception(s) are open now.</p>
  {% endif %}
  </div>
</header>

<main>
<section id="headline" aria-labelledby="h-headline">
  <h2 id="h-headline">Headline figures</h2>
  <p class="note">Exceptions whose period is {{ d.period }}, whatever run found them.
    Amounts are absolute differences in {{ ccy }}, so opposite differences do not cancel.</p>
  <div class="cards">
    <div class="card"><p class="k">Exceptions</p><p class="v">{{ d.total | num }}</p></div>
    {% for f in d.by_status %}
    <div class="card"><p class="k">{{ f.status | label }}</p>
      <p class="v">{{ f.count | num }}</p></div>
    {% endfor %}
    <div class="card{{ ' alert' if d.material_open else '' }}"><p class="k">Material open</p>
      <p class="v">{{ d.material_open | num }}</p></div>
    <div class="card wide"><p class="k">Open amount ({{ ccy }})</p>
      <p class="v">{{ d.open_amount | money(ccy) }}</p></div>
  </div>
  <table class="narrow">
    <caption>Exceptions of {{ d.period }} by review status</caption>
    <thead><tr><th scope="col">Status</th><th scope="col" class="num">Exceptions</th>
      <th scope="col" class="num">Amount ({{ ccy }})</th></tr></thead>
    <tbody>
    {% for f in d.by_status %}
      <tr><th scope="row"><span class="swatch" style="background:{{ colors[f.status] }}"></span>
        {{ f.status | label }}</th>
        <td class="num">{{ f.count | num }}</td>
          <td class="num">{{ f.amount | money(ccy) }}</td></tr>
    {% endfor %}
    </tbody>
    <tfoot><tr><th scope="row">Total</th><td class="num">{{ d.total | num }}</td>
      <td class="num">{{ d.by_status | sum(attribute='amount') | money(ccy) }}</td></tr></tfoot>
  </table>
  {% if d.unconverted %}
  <p class="note">{{ d.unconverted | num }} exception(s) have no amount in {{ ccy }} (no
    exchange rate) and count as zero in the amounts.</p>
  {% endif %}
</section>

<section id="by-rule" aria-labelledby="h-rule">
  <h2 id="h-rule">Exceptions by rule</h2>
  <figure>{{ charts.rules }}</figure>
  {% if d.by_rule %}
  <table>
    <thead><tr><th scope="col">Rule</th><th scope="col">Severity</th>
      {% for s in statuses %}<th scope="col" class="num">{{ s | label }}</th>{% endfor %}
      <th scope="col" class="num">Total</th><th scope="col" class="num">Material open</th>
      <th scope="col" class="num">Open amount ({{ ccy }})</th></tr></thead>
    <tbody>
    {% for f in d.by_rule %}
      <tr><th scope="row" class="code"
        title="{{ rules[f.key].description if f.key in rules else '' }}">{{ f.key }}</th>
        <td>{{ rules[f.key].severity.value if f.key in rules else '' }}</td>
        {% for s in statuses %}<td class="num">{{ f.counts[s] | num }}</td>{% endfor %}
        <td class="num">{{ f.total | num }}</td><td class="num">{{ f.material_open | num }}</td>
        <td class="num">{{ f.open_amount | money(ccy) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
</section>

<section id="by-entity" aria-labelledby="h-entity">
  <h2 id="h-entity">Exceptions by entity</h2>
  <figure>{{ charts.entities }}</figure>
  {% if d.by_entity %}
  <table>
    <thead><tr><th scope="col">Entity</th>
      {% for s in statuses %}<th scope="col" class="num">{{ s | label }}</th>{% endfor %}
      <th scope="col" class="num">Total</th><th scope="col" class="num">Material open</th>
      <th scope="col" class="num">Open amount ({{ ccy }})</th></tr></thead>
    <tbody>
    {% for f in d.by_entity %}
      <tr><th scope="row">{{ f.key }}</th>
        {% for s in statuses %}<td class="num">{{ f.counts[s] | num }}</td>{% endfor %}
        <td class="num">{{ f.total | num }}</td><td class="num">{{ f.material_open | num }}</td>
        <td class="num">{{ f.open_amount | money(ccy) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
</section>

<section id="ageing" aria-labelledby="h-ageing">
  <h2 id="h-ageing">Ageing of open exceptions</h2>
  <p class="note">Days since an exception was first detected, as of {{ d.generated_at | when }}.</p>
  <div class="grid2">
    <figure>{{ charts.ageing }}</figure>
    <table>
      <thead><tr><th scope="col">Age</th><th scope="col" class="num">Open</th>
        <th scope="col" class="num">Investigating</th><th scope="col" class="num">Material</th>
        <th scope="col" class="num">Amount ({{ ccy }})</th></tr></thead>
      <tbody>
      {% for a in d.ageing %}
        <tr><th scope="row">{{ a.bucket }}</th><td class="num">{{ a.open | num }}</td>
          <td class="num">{{ a.investigating | num }}</td>
            <td class="num">{{ a.material | num }}</td>
          <td class="num">{{ a.amount | money(ccy) }}</td></tr>
      {% endfor %}
      </tbody>
    </table>
  </div>
</section>

<section id="trend" aria-labelledby="h-trend">
  <h2 id="h-trend">Trend over runs</h2>
  <p class="note">What each reconciliation run detected, over every period
    {%- if d.runs %} ({{ d.runs | length }} latest
    run{{ 's' if d.runs | length != 1 else '' }}){% endif %}.</p>
  <div class="grid2">
    <figure>{{ charts.trend_count }}</figure>
    <figure>{{ charts.trend_amount }}</figure>
  </div>
  {% if d.runs %}
  <table>
    <caption>Latest runs, newest first</caption>
    <thead><tr><th scope="col">Run</th><th scope="col">Synced</th>
      <th scope="col" class="num">Open</th><th scope="col" class="num">Material</th>
      <th scope="col" class="num">Amount ({{ ccy }})</th><th scope="col" class="num">New</th>
      <th scope="col" class="num">Reopened</th>
        <th scope="col" class="num">Auto-resolved</th></tr></thead>
    <tbody>
    {% for r in (d.runs | reverse | list)[:10] %}
      <tr><th scope="row" class="code">{{ r.run_id }}</th><td>{{ r.synced_at | when }}</td>
        <td class="num">{{ r.open_count | num }}</td>
          <td class="num">{{ r.material_count | num }}</td>
        <td class="num">{{ r.amount | money(ccy) }}</td><td class="num">{{ r.new | num }}</td>
        <td class="num">{{ r.reopened | num }}</td>
          <td class="num">{{ r.auto_resolved | num }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
</section>

<section id="rollforward" aria-labelledby="h-rollforward">
  <h2 id="h-rollforward">Deferred revenue roll-forward</h2>
  {% if d.rollforward is none %}
  <p class="empty">The roll-forward (marts.fct_deferred_revenue_rollforward) is not built in
    this warehouse.</p>
  {% elif not d.rollforward %}
  <p class="empty">No roll-forward rows for {{ d.period }}.</p>
  {% else %}
  <p class="note">Revenue recognition against the ERP deferred revenue account, per entity and
    currency, amounts in each row's currency.
    {% if d.breaks %}<strong class="flag-break">{{ d.breaks | num }} break(s).</strong>
    {% else %}<span class="flag-ok">Every row ties.</span>{% endif %}</p>
  <table>
    <thead>
      <tr><th scope="col" rowspan="2">Entity</th><th scope="col" rowspan="2">Currency</th>
        <th scope="col" rowspan="2">ERP period</th>
        <th scope="colgroup" colspan="4" class="group">Revenue recognition</th>
        <th scope="colgroup" colspan="3" class="group">ERP deferred revenue</th>
        <th scope="col" rowspan="2" class="num">Movement difference</th>
        <th scope="col" rowspan="2">Result</th></tr>
      <tr><th scope="col" class="num">Opening</th><th scope="col" class="num">Bookings</th>
        <th scope="col" class="num">Recognised</th><th scope="col" class="num">Closing</th>
        <th scope="col" class="num">Opening</th><th scope="col" class="num">Movement</th>
        <th scope="col" class="num">Closing</th></tr>
    </thead>
    <tbody>
    {% for r in d.rollforward %}
      <tr{% if r.is_break %} class="break"{% endif %}><th scope="row">{{ r.entity }}</th>
        <td>{{ r.currency }}</td>
        <td>{{ DASH if r.is_closed is none else ('closed' if r.is_closed else 'open') }}</td>
        <td class="num">{{ r.revrec_opening | money(r.currency) }}</td>
        <td class="num">{{ r.revrec_bookings | money(r.currency) }}</td>
        <td class="num">{{ r.revrec_recognised | money(r.currency) }}</td>
        <td class="num">{{ r.revrec_closing | money(r.currency) }}</td>
        <td class="num">{{ r.erp_opening | money(r.currency) }}</td>
        <td class="num">{{ r.erp_movement | money(r.currency) }}</td>
        <td class="num">{{ r.erp_closing | money(r.currency) }}</td>
        <td class="num">{{ r.movement_difference | money(r.currency) }}</td>
        <td>{% if r.is_break %}<span class="flag-break">Break</span>
          {%- else %}<span class="flag-ok">Ties</span>{% endif %}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
</section>

<section id="top" aria-labelledby="h-top">
  <h2 id="h-top">Largest exceptions</h2>
  {% if d.top %}
  <p class="note">The {{ d.top | length }} largest of {{ d.period }} by absolute difference in
    {{ ccy }}, whatever their status; age in days since first detected.</p>
  <table class="dense">
    <thead><tr><th scope="col" class="num">#</th><th scope="col">Exception</th>
      <th scope="col">Rule and key</th><th scope="col">Entity</th>
      <th scope="col">Reason</th><th scope="col">Status</th><th scope="col">Owner</th>
      <th scope="col" class="num" title="days since first detected">Age</th>
      <th scope="col" class="num">Difference</th>
      <th scope="col" class="num">In {{ ccy }}</th></tr></thead>
    <tbody>
    {% for e in d.top %}
      <tr><td class="num">{{ loop.index }}</td>
        <th scope="row"><span class="code nowrap">{{ e.exception_id }}</span>
          {%- if e.is_material %}<br><span class="badge">material</span>{% endif %}</th>
        <td class="code"><span class="nowrap">{{ e.rule }}</span>
          <span class="key">{{ e.natural_key }}</span></td>
        <td>{{ e.entity or '' }}</td><td class="reason">{{ e.reason or '' }}</td>
        <td><span class="pill" style="background:{{ colors.get(e.status, '#555') }}">
          {{- e.status }}</span></td>
        <td>{{ e.owner or DASH }}</td><td class="num">{{ e.age_days | num }}</td>
        <td class="num">{{ e.currency or '' }} {{ e.difference | money(e.currency) }}</td>
        <td class="num">{{ e.difference_reporting | money(ccy) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="empty">No exceptions in {{ d.period }}.</p>
  {% endif %}
</section>

<section id="journals" aria-labelledby="h-journals">
  <h2 id="h-journals">Usage journal postings</h2>
  {% if d.journal %}
  <p class="note">Batch versions whose accounting or posting period is {{ d.period }}; net
    usage revenue in each row's currency.</p>
  <table class="narrow">
    <thead><tr><th scope="col">Status</th><th scope="col">Currency</th>
      <th scope="col" class="num">Batch versions</th>
        <th scope="col" class="num">Amount</th></tr></thead>
    <tbody>
    {% for j in d.journal %}
      <tr{% if j.status == 'dead_letter' %} class="break"{% endif %}>
        <th scope="row">{{ j.status | label }}</th><td>{{ j.currency }}</td>
        <td class="num">{{ j.batches | num }}</td>
          <td class="num">{{ j.amount | money(j.currency) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="empty">No usage journal batches for {{ d.period }}.</p>
  {% endif %}
  <h3>Dead letters</h3>
  {% if d.dead_letters %}
  <p class="note">These batch versions stopped retrying; replay them with
    <span class="code">tieout journal replay</span> once the cause is fixed.</p>
  <table>
    <thead><tr><th scope="col">External id</th><th scope="col">Entity</th>
      <th scope="col">Currency</th>
      <th scope="col">Window start</th><th scope="col" class="num">Amount</th>
      <th scope="col" class="num">Attempts</th><th scope="col">Last error</th></tr></thead>
    <tbody>
    {% for b in d.dead_letters %}
      <tr class="break"><th scope="row" class="code">{{ b.external_id }}</th>
        <td>{{ b.legal_entity }}</td>
        <td>{{ b.currency }}</td><td>{{ b.window_start | when }}</td>
        <td class="num">{{ b.amount | money(b.currency) }}</td>
          <td class="num">{{ b.attempts | num }}</td>
        <td class="reason">{{ b.last_error or '' }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="empty">None.</p>
  {% endif %}
</section>

<section id="aging" aria-labelledby="h-aging">
  <h2 id="h-aging">Receivables ageing</h2>
  {% set a = d.aging %}
  {% if a is none %}
  <p class="empty">The ageing (marts.fct_ar_aging) is not built in this warehouse.</p>
  {% elif not a.buckets %}
  <p class="empty">No open receivables.</p>
  {% else %}
  <p class="note">Open receivables on {{ a.as_of_date }} by days past due, from the ERP's open
    balances with billing's view beside them, in {{ ccy }} at that date's rates
    {%- if a.unconverted %} ({{ a.unconverted | num }} row(s) without a rate left out){% endif %}.
    Unapplied are payments and credits the ERP holds against no invoice.</p>
  <table class="narrow">
    <thead><tr><th scope="col">Entity</th><th scope="col">Bucket</th>
      <th scope="col" class="num">ERP</th><th scope="col" class="num">Billing</th>
      <th scope="col" class="num">Difference</th></tr></thead>
    <tbody>
    {% for b in a.buckets %}
      <tr{% if b.difference %} class="break"{% endif %}>
        <th scope="row">{{ 'All entities' if b.entity == 'all' else b.entity }}</th>
        <td>{{ b.bucket }}</td><td class="num">{{ b.erp_open | money(ccy) }}</td>
        <td class="num">{{ b.billing_open | money(ccy) }}</td>
        <td class="num">{{ b.difference | money(ccy) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% if a.overdue %}
  <h3>Most overdue (more than 90 days)</h3>
  <table class="dense">
    <thead><tr><th scope="col">Customer</th><th scope="col">Entity</th>
      <th scope="col" class="num">ERP open</th><th scope="col" class="num">Billing open</th>
      <th scope="col" class="num">ERP in {{ ccy }}</th></tr></thead>
    <tbody>
    {% for c in a.overdue %}
      <tr><th scope="row" class="code">{{ c.customer_id }}</th><td>{{ c.entity or DASH }}</td>
        <td class="num">{{ c.currency }} {{ c.erp_open | money(c.currency) }}</td>
        <td class="num">{{ c.currency }} {{ c.billing_open | money(c.currency) }}</td>
        <td class="num">{{ c.erp_open_reporting | money(ccy) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
  {% endif %}
</section>

<section id="support" aria-labelledby="h-support">
  <h2 id="h-support">Support entitlements and service credits</h2>
  {% set s = d.support %}
  {% if s is none %}
  <p class="empty">The support marts (marts.fct_entitlement_reconciliation,
    marts.fct_service_credit_reconciliation) are not built in this warehouse.</p>
  {% elif not s.organizations and not s.credits | sum(attribute='count') %}
  <p class="empty">No support data: the support platform is not configured or sent nothing.</p>
  {% else %}
  <p class="note">Support's entitlements against what billing says each customer pays for, as
    of {{ s.as_of | when }} (a state, not a movement of {{ d.period }}); monthly value is the
    support add-on's list price in {{ ccy }}.
    {% if s.breaks %}<strong class="flag-break">{{ s.breaks | num }} customer(s) served
    otherwise than they pay for.</strong>
    {% else %}<span class="flag-ok">Every entitlement matches billing.</span>{% endif %}</p>
  <table class="narrow">
    <thead><tr><th scope="col">Outcome</th><th scope="col" class="num">Count</th>
      <th scope="col" class="num">Monthly value ({{ ccy }})</th></tr></thead>
    <tbody>
    {% for o in s.outcomes %}
      <tr{% if o.count %} class="break"{% endif %}><th scope="row">{{ o.outcome | label }}</th>
        <td class="num">{{ o.count | num }}</td>
        <td class="num">{{ o.monthly_value | money(ccy) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% if s.served %}
  <h3>Who is over- or under-served</h3>
  <table class="dense">
    <thead><tr><th scope="col">Outcome</th><th scope="col">Customer</th>
      <th scope="col">Organization</th><th scope="col">Support tier</th>
      <th scope="col">Billing pays for</th><th scope="col">Entitlement</th>
      <th scope="col" class="num">Past due</th>
      <th scope="col" class="num">Monthly value ({{ ccy }})</th></tr></thead>
    <tbody>
    {% for r in s.served %}
      <tr><th scope="row">{{ r.outcome | label }}</th>
        <td class="code">{{ r.customer_id or DASH }}</td>
        <td>{% if r.organization_id is none %}{{ DASH }}{% else %}<span class="code">
          {{- r.organization_id }}</span> {{ r.organization_name or '' }}{% endif %}</td>
        <td>{{ r.support_tier or DASH }}</td><td>{{ r.expected_tier or DASH }}</td>
        <td>{{ r.entitlement_status or DASH }}</td>
        <td class="num">{% if r.past_due is none %}{{ DASH }}{% else %}{{ r.currency }}
          {{ r.past_due | money(r.currency) }}{% endif %}</td>
        <td class="num">{{ r.monthly_value | money(ccy) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
  <h3>Service credits</h3>
  <p class="note">Credits support promised for SLA breaches against the billing credit notes
    that paid them.
    {% if s.outstanding_total %}<strong class="flag-break">{{ ccy }}
    {{ s.outstanding_total | money(ccy) }} promised and not credited.</strong>
    {% else %}<span class="flag-ok">Every promised credit is credited.</span>{% endif %}</p>
  <table class="narrow">
    <thead><tr><th scope="col">Status</th><th scope="col" class="num">Credits</th>
      <th scope="col" class="num">Outstanding ({{ ccy }})</th></tr></thead>
    <tbody>
    {% for c in s.credits %}
      <tr{% if c.count and c.status in ('not_billed', 'amount_differs') %} class="break"
        {%- endif %}><th scope="row">{{ c.status | label }}</th>
        <td class="num">{{ c.count | num }}</td>
        <td class="num">{{ c.outstanding | money(ccy) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% if s.outstanding %}
  <table class="dense">
    <thead><tr><th scope="col">Credit</th><th scope="col">Customer</th>
      <th scope="col">Promised</th><th scope="col">Status</th>
      <th scope="col" class="num">Promised amount</th><th scope="col">Credit note</th>
      <th scope="col" class="num">Outstanding</th>
      <th scope="col" class="num">In {{ ccy }}</th></tr></thead>
    <tbody>
    {% for c in s.outstanding %}
      <tr{% if c.status != 'in_transit' %} class="break"{% endif %}>
        <th scope="row" class="code">{{ c.service_credit_id }}</th>
        <td class="code">{{ c.customer_id or DASH }}</td><td>{{ c.promised_date }}</td>
        <td>{{ c.status | label }}</td>
        <td class="num">{{ c.currency }} {{ c.amount | money(c.currency) }}</td>
        <td>{% if c.credit_note_id %}<span class="code">{{ c.credit_note_id }}</span>
          {{ c.currency }} {{ c.credit_note_amount | money(c.currency) }}{% else %}{{ DASH }}
          {%- endif %}</td>
        <td class="num">{{ c.currency }} {{ c.outstanding | money(c.currency) }}</td>
        <td class="num">{{ c.outstanding_reporting | money(ccy) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
  {% endif %}
</section>
<section id="operations" aria-labelledby="h-operations">
  <h2 id="h-operations">Operating metrics</h2>
  {% set o = d.operations %}
  {% if o is none or not o.runs %}
  <p class="empty">No operating metrics recorded yet (ops.run_metrics): every tieout run and
    Dagster run records them.</p>
  {% else %}
  <p class="note">How the pipeline itself ran over the {{ o.runs | length }} latest measured
    run{{ 's' if o.runs | length != 1 else '' }} (all periods): records the gate received,
    the slowest API endpoint's 95th percentile latency, retries and errors of every API call,
    journal POSTs accepted, and records the gate quarantined.</p>
  <div class="grid2">
    <figure>{{ charts.ops_records }}</figure>
    <figure>{{ charts.ops_latency }}</figure>
    <figure>{{ charts.ops_retries }}</figure>
    <figure>{{ charts.ops_posting }}</figure>
    <figure>{{ charts.ops_quarantined }}</figure>
  </div>
  {% if o.endpoints %}
  <table class="dense">
    <caption>API endpoints in the latest extraction (run
      <span class="code">{{ o.last_extract_run }}</span>)</caption>
    <thead><tr><th scope="col">Source</th><th scope="col">Endpoint</th>
      <th scope="col" class="num">Records</th><th scope="col" class="num">Pages</th>
      <th scope="col" class="num">Records/s</th><th scope="col" class="num">p50 ms</th>
      <th scope="col" class="num">p95 ms</th><th scope="col" class="num">Retries</th>
      <th scope="col">Errors by status</th>
      <th scope="col" class="num">Repeats dropped</th></tr></thead>
    <tbody>
    {% for e in o.endpoints %}
      <tr{% if e.errors %} class="break"{% endif %}><th scope="row">{{ e.source }}</th>
        <td class="code">{{ e.endpoint }}</td><td class="num">{{ e.records | figure }}</td>
        <td class="num">{{ e.pages | figure }}</td>
        <td class="num">{{ e.throughput | figure }}</td>
        <td class="num">{{ e.latency_p50 | figure(1) }}</td>
        <td class="num">{{ e.latency_p95 | figure(1) }}</td>
        <td class="num">{{ e.retries | figure }}</td>
        <td class="code">{{ e.error_text or DASH }}</td>
        <td class="num">{{ e.duplicates | figure }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
  {% endif %}
</section>
</main>

<footer>
  Generated by tieout on {{ d.generated_at | utc }}. Times are shown in {{ d.timezone }}.
  Exception amounts in {{ ccy }} are absolute differences converted at the run's rates;
  journal and roll-forward amounts are in their own currencies.
</footer>
</div>
</body>
</html>
"""
