"""Injection rates: defaults, a TOML rates file, or all-zero for a clean company.

A rate is the fraction of the records eligible for a rule that get the fault; any positive
rate plants at least one case when a record is eligible, so small test companies still see
every rule.  Timing cases are counts, not rates, because they are planted at fixed distances
from the snapshot moment.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tieout.rules import RULES

DEFAULT_RATES: dict[str, float] = {
    "INVOICE_MISSING_IN_ERP": 0.0008, "ERP_INVOICE_NOT_IN_BILLING": 0.0005,
    "DUPLICATE_ERP_POSTING": 0.0005, "AMOUNT_MISMATCH": 0.02, "CURRENCY_MISMATCH": 0.001,
    "CUSTOMER_MISMATCH": 0.0005, "ENTITY_MISMATCH": 0.0005, "STATUS_MISMATCH": 0.0005,
    "AR_INVOICE_MISMATCH": 0.02, "AR_CUSTOMER_MISMATCH": 0.003,
    "CREDIT_NOTE_MISSING_IN_ERP": 0.03, "PERIOD_MISMATCH": 0.0005,
    "CLOSED_PERIOD_POSTING": 0.0005, "SCHEDULE_MISSING": 0.0004,
    "SCHEDULE_TOTAL_MISMATCH": 0.0004, "SCHEDULE_PERIOD_MISMATCH": 0.0004,
    "ORPHAN_SCHEDULE": 0.0003, "CREDIT_NOT_REFLECTED": 0.03, "REVENUE_VS_EXPECTED": 0.0004,
    "ROLLFORWARD_BREAK": 0.02, "BILLING_LEAKAGE": 0.01, "CANCELLED_STILL_INVOICED": 0.15,
    "USAGE_NOT_INVOICED": 0.0015, "USAGE_JOURNAL_MISMATCH": 0.04, "TAX_MISMATCH": 0.0005,
    "RESTATEMENT": 0.0005,
    # support rules: rates of customers (or of service credits for SERVICE_CREDIT_NOT_BILLED)
    "SUPPORT_OVER_SERVICING": 0.004, "SUPPORT_UNDER_SERVICING": 0.01,
    "SUPPORT_ENTITLEMENT_MISMATCH": 0.004, "SUPPORT_PAST_DUE_ENTITLEMENT": 0.05,
    "SERVICE_CREDIT_NOT_BILLED": 0.01,
}
QUIET_RATES: dict[str, float] = {"AMOUNT_WITHIN_TOLERANCE": 0.01,
                                 "SERVICE_CREDIT_IN_TRANSIT": 0.002}
DEFAULT_TIMING: dict[str, int] = {"in_transit": 3, "past_grace": 2}


class RatesError(ValueError):
    """A rates file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Rates:
    """Per-rule injection rates plus the counts of planted timing cases."""

    rules: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    quiet: dict[str, float] = field(default_factory=lambda: dict(QUIET_RATES))
    timing: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_TIMING))

    def of(self, code: str) -> float:
        """Rate of a rule or quiet case (0 when the rule is switched off)."""
        return self.rules.get(code, self.quiet.get(code, 0.0))

    def count(self, rate_code: str, eligible: int) -> int:
        """How many of ``eligible`` records get the fault."""
        rate = self.of(rate_code)
        if rate <= 0 or eligible <= 0:
            return 0
        return min(eligible, max(1, round(rate * eligible)))

    @classmethod
    def clean(cls) -> Rates:
        """No injected discrepancy at all: the three systems agree."""
        return cls({k: 0.0 for k in DEFAULT_RATES}, {k: 0.0 for k in QUIET_RATES},
                   {k: 0 for k in DEFAULT_TIMING})

    @classmethod
    def from_file(cls, path: Path) -> Rates:
        """Defaults overridden by ``[rates]`` and ``[timing]`` tables of a TOML file."""
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise RatesError(f"rates file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise RatesError(f"rates file {path} is not valid TOML: {exc}") from None
        unknown_tables = set(data) - {"rates", "timing"}
        if unknown_tables:
            raise RatesError(f"rates file {path}: unknown table(s) {sorted(unknown_tables)}; "
                             "expected [rates] and [timing]")
        rules, quiet, timing = dict(DEFAULT_RATES), dict(QUIET_RATES), dict(DEFAULT_TIMING)
        for code, value in data.get("rates", {}).items():
            if code not in RULES and code not in QUIET_RATES:
                raise RatesError(f"rates file {path}: unknown rule code {code!r}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    0 <= value <= 1):
                raise RatesError(f"rates file {path}: rate of {code} must be a number in "
                                 f"[0, 1], got {value!r}")
            (rules if code in RULES else quiet)[code] = float(value)
        for name, value in data.get("timing", {}).items():
            if name not in DEFAULT_TIMING:
                raise RatesError(f"rates file {path}: unknown timing case {name!r}; known: "
                                 f"{sorted(DEFAULT_TIMING)}")
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 50:
                raise RatesError(f"rates file {path}: timing {name} must be an integer "
                                 f"0..50, got {value!r}")
            timing[name] = value
        return cls(rules, quiet, timing)
