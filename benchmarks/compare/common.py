"""What every peer is asked: the kinds of exception, the tolerances, the file names.

Standard library only: the peers' child processes import it under either interpreter.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

KEY = "invoice_id"
AMOUNT = "amount"
CURRENCY = "currency"
FIELDS: tuple[str, ...] = ("currency", "customer_id", "status")

# Counts per kind that every peer reports, in table order.  Duplicates and missing keys are
# counted in keys; amount and field mismatches in keys that occur once on each side.
KINDS: tuple[str, ...] = (
    "missing_in_right", "missing_in_left", "duplicate_left", "duplicate_right", "amount",
    *FIELDS,
)

# Absolute amount tolerance per currency: one minor unit.  A difference equal to it matches.
TOLERANCES: dict[str, Decimal] = {
    "USD": Decimal("0.01"), "EUR": Decimal("0.01"), "GBP": Decimal("0.01"), "JPY": Decimal("1"),
}
DEFAULT_TOLERANCE = Decimal("0.01")

BILLING = "billing.parquet"
ERP = "erp.parquet"
TRUTH = "truth.json"
