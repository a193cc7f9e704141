"""Rich tables the CLI prints; kept apart so commands stay about what they do."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from seeds.generator import CompanySummary

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
