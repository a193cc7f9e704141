"""The generator's pipeline: lifecycle -> billing -> usage -> revrec -> ERP, faults in between.

The order matters: billing-level faults are planted before documents exist so every system
agrees on them; revrec faults come before the ERP's revenue journals are derived from revrec;
ERP faults come last, on keyed documents.  Each step draws from its own seeded stream.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tieout.money import CURRENCY_EXPONENTS

from . import (
    erp,
    faults_billing,
    faults_erp,
    faults_ledger,
    faults_support,
    reference,
    support,
    writer,
)
from .billing import Lifecycle, build_lifecycle
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

log = logging.getLogger("tieout.generator")


class _Stages:
    """Debug log of each phase's time and the process's peak RSS so far (for benchmarks)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        log.debug("stage %-10s %6.2f s, peak RSS %d MB", name, now - self.last, peak_mb)
        self.last = now


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


def _billing_tables(customers: pl.DataFrame, s: Settled,
                    life: Lifecycle) -> dict[str, Callable[[], pl.DataFrame]]:
    lower = pl.col("currency").str.to_lowercase()
    return {
        "billing/products": reference.products,
        "billing/prices": reference.prices,
        "billing/customers": lambda: customers.with_columns(currency=lower),
        "billing/subscriptions": lambda: subscription_records(life).with_columns(currency=lower),
        "billing/subscription_items": lambda: item_records(life),
        "billing/invoices": lambda: s.invoices.with_columns(currency=lower),
        "billing/invoice_lines": lambda: s.lines.with_columns(currency=lower),
        "billing/credit_notes": lambda: s.credit_notes.with_columns(currency=lower),
        "billing/credit_note_lines": lambda: s.credit_note_lines,
    }


def _slim(s: Settled) -> Settled:
    """Only the billing columns revrec and the ERP still need, once billing is written."""
    return Settled(
        s.invoices.select(
            "id", "customer", "entity", "currency", "status", "billing_reason", "number",
            "total", "tax", "amount_paid", "amount_remaining", "finalized_at", "paid_at",
            "voided_at", "due_date", "charge", "updated"),
        s.lines.select("id", "invoice", "line_number", "item_kind", "product", "description",
                       "amount", "period_start", "period_end"),
        s.credit_notes, s.credit_note_lines)


def _revrec_tables(headers: pl.DataFrame,
                   lines: pl.DataFrame) -> dict[str, Callable[[], pl.DataFrame]]:
    exp = pl.col("currency").replace_strict(CURRENCY_EXPONENTS, return_dtype=pl.Int64)

    def heads() -> pl.DataFrame:
        return headers.with_columns(
            total_amount=minor_to_decimal_str(pl.col("total_minor"), exp),
            service_end=pl.when(pl.col("service_end_excl") > pl.col("service_start"))
            .then(pl.col("service_end_excl") - pl.duration(days=1))
            .otherwise(pl.col("service_start")),
            status=pl.lit("active"), created_at=utc(pl.col("created")),
            updated_at=utc(pl.col("updated")),
        )

    def body() -> pl.DataFrame:
        return lines.join(headers.select("id", "currency"), on="id").with_columns(
            schedule_id="id", amount=minor_to_decimal_str(pl.col("amount_minor"), exp))

    return {"revrec/revenue_schedules": heads, "revrec/revenue_schedule_lines": body}


def _support_tables(inputs: support.SupportInputs, seed: int, rates: Rates,
                    truth: Truth) -> dict[str, Callable[[], pl.DataFrame]]:
    """Clean organizations and service credits, then the support rules' faults on them."""
    rng = np.random.default_rng([seed, 5])
    picker = Picker(np.random.default_rng([seed, 6]), rates)
    orgs = faults_support.entitlement_faults(support.organizations(inputs.accounts), picker,
                                             truth)
    clean = support.service_credits(inputs, rng).join(
        orgs.select(organization_id="id"), on="organization_id", how="semi")
    credits = faults_support.credit_faults(inputs, clean, orgs, picker, truth, rng)
    return {"support/organizations": _const(support.organization_table(orgs)),
            "support/service_credits": _const(support.credit_table(credits))}


class _Writer:
    """Writes each table as soon as it is final and keeps only its row count and digest."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.rows: dict[str, int] = {}
        self.digests: dict[str, str] = {}
        out_dir.mkdir(parents=True, exist_ok=True)

    def tables(self, tables: dict[str, Callable[[], pl.DataFrame]]) -> None:
        """Build, write and drop one table at a time (each value builds its frame)."""
        for name, build in tables.items():
            self._keep(name, writer.write_table(self.out_dir, name, build()))

    def usage(self, events: pl.DataFrame) -> None:
        self._keep("usage/events", writer.write_usage(self.out_dir, events.with_columns(
            occurred_at=utc(pl.col("occurred")), received_at=utc(pl.col("received")))))

    def _keep(self, name: str, written: pl.DataFrame) -> None:
        self.rows[name] = written.height
        self.digests[name] = writer.table_digest(written)


def _const(frame: pl.DataFrame) -> Callable[[], pl.DataFrame]:
    return lambda: frame


def generate_company(out_dir: Path, *, seed: int = 7, invoices: int = 10_000,
                     rates: Rates | None = None, clean: bool = False) -> CompanySummary:
    """Generate a company of about ``invoices`` invoices into ``out_dir``; deterministic.

    Runs in three phases (billing and usage, revrec, ERP), each writing its tables and
    dropping its frames before the next starts, so peak memory is one phase's, not the sum.
    """
    started = time.perf_counter()
    rates = Rates.clean() if clean else (rates or Rates())
    rng = np.random.default_rng([seed, 0])
    picker, truth = Picker(np.random.default_rng([seed, 1]), rates), Truth()
    out, stage = _Writer(out_dir), _Stages()
    fx = reference.fx_rates(np.random.default_rng([seed, 4]))
    out.tables({
        "reference/currencies": reference.currencies,
        "reference/legal_entities": reference.legal_entities,
        "reference/chart_of_accounts": reference.chart_of_accounts,
        "reference/account_mapping": reference.account_mapping,
        "reference/fx_rates": lambda: fx,
    })

    # Phase 1: billing and usage.
    life = build_lifecycle(rng, invoices)
    life, overbilled = faults_billing.leak_and_overbill(life, picker, truth)
    inv = build_invoices(life)
    lines = fill_usage_lines(build_lines(life, inv), events := build_events(
        np.random.default_rng([seed, 2]), life))
    settled = settle(np.random.default_rng([seed, 3]), life, inv, lines)
    del inv, lines
    stage("billing")
    faults_billing.record_overbill(truth, settled.invoices, overbilled)
    out.usage(faults_billing.unbilled_usage(events, settled, picker, truth))
    del events
    settled, timing = faults_billing.timing_invoices(settled, life, rates.timing, truth)
    customers = customer_records(life)
    out.tables(_billing_tables(customers, settled, life))
    customers = customers.select("cidx", "id", "name", "created", "entity", "currency")
    support_in = support.support_inputs(customers, subscription_records(life), item_records(life),
                                        settled.invoices, settled.credit_notes)
    settled = _slim(settled)
    del life
    stage("write-bill")

    # Phase 2: revenue recognition, and the ERP revenue journals that follow it.
    headers, sched = build_revrec(settled)
    transit = timing.filter("in_transit").select(invoice_id="invoice")
    headers = headers.join(transit, on="invoice_id", how="anti")
    sched = sched.join(headers.select("id"), on="id", how="semi")
    single = settled.credit_note_lines.with_columns(
        n=pl.len().over("invoice_line")).filter(pl.col("n") == 1).select(
        "invoice_line", "credit_note")
    headers, sched = inject_revrec(headers, sched, single, picker, truth)
    recognition = erp.recognition_docs(headers, sched)
    out.tables(_revrec_tables(headers, sched))
    del headers, sched
    stage("revrec")

    # Phase 3: the ERP's books, then its faults.
    work = ErpWork(erp.combine(erp.invoice_docs(settled), erp.settlement_docs(settled),
                               recognition), pl.DataFrame())
    closes = periods().select("period", closed_at=pl.col("closedondate").dt.epoch("s"))
    work.invoices = invoice_pool(work.docs, settled.invoices, settled.credit_notes, closes)
    faults_erp.missing_and_extra(work, picker, truth, timing)
    faults_erp.misstated(work, picker, truth)
    faults_erp.misposted(work, picker, truth, customers)
    faults_erp.wrong_status(work, picker, truth, settled.lines)
    faults_erp.after_close(work, picker, truth)
    faults_ledger.receivables(work, picker, truth, customers)
    faults_ledger.credit_memos(work, picker, truth, settled.credit_notes)
    faults_ledger.journals(work, picker, truth)
    del settled
    stage("erp-faults")
    docs = work.docs
    del work
    erp_tables, erp_ids = erp.finalize(docs, customers, fx)
    del docs
    stage("erp-final")
    out.tables({name: _const(frame) for name, frame in erp_tables.items()})
    del erp_tables
    stage("write-erp")

    # Phase 4: the support platform, from billing as written; its own seeded streams, so the
    # other systems' records and faults do not depend on it.
    out.tables(_support_tables(support_in, seed, rates, truth))
    del support_in
    stage("support")

    ground = truth.frame(erp_ids)
    writer.write_truth(out_dir, ground)
    writer.write_config(out_dir, seed=seed, invoices=invoices)
    reported = ground.filter("expected_reported")
    summary = CompanySummary(
        out_dir=out_dir, seed=seed, rows=out.rows,
        exceptions=dict(reported.group_by("rule").len().sort("rule").iter_rows()),
        quiet=dict(ground.filter(~pl.col("expected_reported")).group_by("rule").len()
                   .sort("rule").iter_rows()),
        seconds=time.perf_counter() - started, digests=out.digests,
    )
    writer.write_manifest(out_dir, {
        "seed": seed, "invoices_requested": invoices, "clean": clean,
        "rates": rates.rules, "quiet_rates": rates.quiet, "timing": rates.timing,
        "rows": summary.rows, "digests": out.digests, "ground_truth_rows": ground.height,
    })
    return summary
