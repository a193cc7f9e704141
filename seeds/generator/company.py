"""The generator's pipeline: lifecycle -> billing -> usage -> revrec -> ERP, faults in between.

The order matters: billing-level faults are planted before documents exist so every system
agrees on them; revrec faults come before the ERP's revenue journals are derived from revrec;
ERP faults come last, on keyed documents.  Each step draws from its own seeded stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tieout.money import CURRENCY_EXPONENTS

from . import erp, faults_billing, faults_erp, faults_ledger, reference, writer
from .billing import build_lifecycle
from .calendar import periods, utc
from .documents import build_invoices, build_lines
from .erp_edit import ErpWork, invoice_pool
from .faults_revrec import inject_revrec
from .frames import minor_to_decimal_str
from .picking import Picker
from .rates import Rates
from .revrec import build_revrec
from .settlement import Settled, settle
from .subscriptions import customer_records, item_records, subscription_records
from .truth import Truth
from .usage import build_events, fill_usage_lines


@dataclass
class CompanySummary:
    """What a generation run wrote, for the CLI to print and tests to check."""

    out_dir: Path
    seed: int
    rows: dict[str, int]
    exceptions: dict[str, int]
    quiet: dict[str, int]
    seconds: float
    digests: dict[str, str] = field(default_factory=dict)


def _billing_tables(life_customers: pl.DataFrame, s: Settled, life: object) -> dict[str,
                                                                                     pl.DataFrame]:
    lower = pl.col("currency").str.to_lowercase()
    return {
        "billing/products": reference.products(),
        "billing/prices": reference.prices(),
        "billing/customers": life_customers.with_columns(currency=lower),
        "billing/subscriptions": subscription_records(life).with_columns(currency=lower),
        "billing/subscription_items": item_records(life),
        "billing/invoices": s.invoices.with_columns(currency=lower),
        "billing/invoice_lines": s.lines.with_columns(currency=lower),
        "billing/credit_notes": s.credit_notes.with_columns(currency=lower),
        "billing/credit_note_lines": s.credit_note_lines,
    }


def _revrec_tables(headers: pl.DataFrame, lines: pl.DataFrame) -> dict[str, pl.DataFrame]:
    exp = pl.col("currency").replace_strict(CURRENCY_EXPONENTS, return_dtype=pl.Int64)
    one_day = pl.duration(days=1)
    heads = headers.with_columns(
        total_amount=minor_to_decimal_str(pl.col("total_minor"), exp),
        service_end=pl.when(pl.col("service_end_excl") > pl.col("service_start"))
        .then(pl.col("service_end_excl") - one_day).otherwise(pl.col("service_start")),
        status=pl.lit("active"), created_at=utc(pl.col("created")),
        updated_at=utc(pl.col("updated")),
    )
    ccy = headers.select("id", "currency")
    body = lines.join(ccy, on="id").with_columns(
        schedule_id="id", amount=minor_to_decimal_str(pl.col("amount_minor"), exp))
    return {"revrec/revenue_schedules": heads, "revrec/revenue_schedule_lines": body}


def generate_company(out_dir: Path, *, seed: int = 7, invoices: int = 10_000,
                     rates: Rates | None = None, clean: bool = False) -> CompanySummary:
    """Generate a company of about ``invoices`` invoices into ``out_dir``; deterministic."""
    started = time.perf_counter()
    rates = Rates.clean() if clean else (rates or Rates())
    rng = np.random.default_rng([seed, 0])
    picker, truth = Picker(np.random.default_rng([seed, 1]), rates), Truth()

    life = build_lifecycle(rng, invoices)
    life, overbilled = faults_billing.leak_and_overbill(life, picker, truth)
    inv = build_invoices(life)
    lines = build_lines(life, inv)
    events = build_events(np.random.default_rng([seed, 2]), life)
    settled = settle(np.random.default_rng([seed, 3]), life, inv, fill_usage_lines(lines, events))
    faults_billing.record_overbill(truth, settled.invoices, overbilled)
    events = faults_billing.unbilled_usage(events, settled, picker, truth)
    settled, timing = faults_billing.timing_invoices(settled, life, rates.timing, truth)

    headers, sched = build_revrec(settled)
    transit = timing.filter("in_transit").select(invoice_id="invoice")
    headers = headers.join(transit, on="invoice_id", how="anti")
    sched = sched.join(headers.select("id"), on="id", how="semi")
    single = settled.credit_note_lines.with_columns(
        n=pl.len().over("invoice_line")).filter(pl.col("n") == 1).select(
        "invoice_line", "credit_note")
    headers, sched = inject_revrec(headers, sched, single, picker, truth)

    customers = customer_records(life)
    docs = erp.combine(erp.invoice_docs(settled), erp.settlement_docs(settled),
                       erp.recognition_docs(headers, sched))
    closes = periods().select("period", closed_at=pl.col("closedondate").dt.epoch("s"))
    work = ErpWork(docs, invoice_pool(docs, settled.invoices, settled.credit_notes, closes))
    faults_erp.missing_and_extra(work, picker, truth, timing)
    faults_erp.misstated(work, picker, truth)
    faults_erp.misposted(work, picker, truth, customers)
    faults_erp.wrong_status(work, picker, truth, settled.lines)
    faults_erp.after_close(work, picker, truth)
    faults_ledger.receivables(work, picker, truth, customers)
    faults_ledger.credit_memos(work, picker, truth, settled.credit_notes)
    faults_ledger.journals(work, picker, truth)
    fx = reference.fx_rates(np.random.default_rng([seed, 4]))
    erp_tables, erp_ids = erp.finalize(work.docs, customers, fx)

    tables: dict[str, pl.DataFrame] = {
        "reference/currencies": reference.currencies(),
        "reference/legal_entities": reference.legal_entities(),
        "reference/chart_of_accounts": reference.chart_of_accounts(),
        "reference/account_mapping": reference.account_mapping(),
        "reference/fx_rates": fx,
        **_billing_tables(customers, settled, life),
        **erp_tables,
        **_revrec_tables(headers, sched),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {name: writer.write_table(out_dir, name, frame) for name, frame in tables.items()}
    written["usage/events"] = writer.write_usage(out_dir, events.with_columns(
        occurred_at=utc(pl.col("occurred")), received_at=utc(pl.col("received"))))
    ground = truth.frame(erp_ids)
    writer.write_truth(out_dir, ground)
    writer.write_config(out_dir, seed=seed, invoices=invoices)
    digests = {name: writer.table_digest(frame) for name, frame in written.items()}
    reported = ground.filter("expected_reported")
    summary = CompanySummary(
        out_dir=out_dir, seed=seed, rows={k: v.height for k, v in written.items()},
        exceptions=dict(reported.group_by("rule").len().sort("rule").iter_rows()),
        quiet=dict(ground.filter(~pl.col("expected_reported")).group_by("rule").len()
                   .sort("rule").iter_rows()),
        seconds=time.perf_counter() - started, digests=digests,
    )
    writer.write_manifest(out_dir, {
        "seed": seed, "invoices_requested": invoices, "clean": clean,
        "rates": rates.rules, "quiet_rates": rates.quiet, "timing": rates.timing,
        "rows": summary.rows, "digests": digests, "ground_truth_rows": ground.height,
    })
    return summary
