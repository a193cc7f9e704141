"""Rich tables the CLI prints; kept apart so commands stay about what they do."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from seeds.generator import CompanySummary
from tieout.money import CURRENCY_EXPONENTS
from tieout.register import RuleTotal
from tieout.rules import RULES

console = Console()


def print_company(summary: CompanySummary) -> None:
    """Rows per table, planted discrepancies per rule, and the quiet cases."""
    rows = Table("table", "rows", title=f"Company in {summary.out_dir} (seed {summary.seed})")
    for name, count in summary.rows.items():
        rows.add_row(name, f"{count:,}")
    console.print(rows)
    planted = Table("rule", "exceptions expected", title="Planted discrepancies (ground_truth.csv)")
    for rule, count in summary.exceptions.items():
        planted.add_row(rule, str(count))
    for rule, count in summary.quiet.items():
        planted.add_row(f"{rule} (must stay quiet)", str(count))
    console.print(planted)
    console.print(f"generated in {summary.seconds:.1f} s")


def stage_line(stage: str, text: str, seconds: float) -> str:
    """One progress line per pipeline stage: ``extract   ... in 12.3 s``."""
    return f"[bold]{stage:<9}[/bold] {text} in {seconds:.1f} s"


def rule_summary(totals: Mapping[str, RuleTotal], currency: str, where: Path) -> Table:
    """Every rule with its severity, exception count, absolute amount and material count."""
    table = Table("rule", "severity", "count", f"amount ({currency})", "material",
                  title=f"Exceptions by rule in {where}")
    for column in table.columns[2:]:
        column.justify = "right"
    count = material = 0
    amount = Decimal(0)
    for rule in RULES.values():
        total = totals.get(rule.code, RuleTotal(rule.code, 0, Decimal(0), 0))
        count, amount, material = (count + total.count, amount + total.amount,
                                   material + total.material)
        table.add_row(rule.code, rule.severity.value, f"{total.count:,}",
                      money(total.amount, currency), f"{total.material:,}",
                      style=None if total.count else "dim")
    table.add_section()
    table.add_row("total", "", f"{count:,}", money(amount, currency), f"{material:,}",
                  style="bold")
    return table


def in_transit_line(counts: Mapping[str, int]) -> str:
    """Items inside the grace period, by kind: listed for the controller, not exceptions."""
    if not counts:
        return "in transit: nothing inside the grace period"
    kinds = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in counts.items())
    return f"in transit (inside the grace period, not exceptions): {kinds}"


def money(amount: Decimal, currency: str) -> str:
    """An amount at the currency's precision (half away from zero), with thousands commas."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    return f"{amount.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP):,}"
