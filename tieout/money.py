"""Money: integer minor units, each currency's own exponent, explicit rounding.

Amounts travel as integer minor units (``*_minor``) and become ``Decimal`` only at the edges,
so nothing is ever a float.  The allocation helpers are the single definition of how a total is
split into pieces that sum back to it exactly; the generator's revenue schedules and the
pipeline's expected schedule both rely on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 exponents for the currencies tieout handles.  JPY has no minor unit.
CURRENCY_EXPONENTS: dict[str, int] = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}


class UnknownCurrencyError(ValueError):
    """A currency code tieout has no exponent for."""


def exponent(currency: str) -> int:
    """Minor-unit exponent of a currency (case-insensitive ISO code)."""
    try:
        return CURRENCY_EXPONENTS[currency.upper()]
    except KeyError:
        raise UnknownCurrencyError(f"unknown currency {currency!r}") from None


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Integer minor units -> Decimal major units with the currency's exponent."""
    return Decimal(amount_minor).scaleb(-exponent(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal major units -> integer minor units, half-up; refuses floats outright."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float")
    quantum = Decimal(1).scaleb(-exponent(currency))
    return int(Decimal(amount).quantize(quantum, rounding=ROUND_HALF_UP).scaleb(exponent(currency)))


def round_half_up_div(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero, exact for any size of integer."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


def allocate_by_weight(total_minor: int, weights: Sequence[int]) -> list[int]:
    """Split ``total_minor`` in proportion to ``weights`` so the parts sum exactly to it.

    Cumulative rounding: part k is round(total * W_k / W) - round(total * W_{k-1} / W), where
    W_k is the running sum of weights.  Each part is within one minor unit of its exact share,
    and the same formula is easy to write in SQL, which is why both sides use it.
    """
    whole = sum(weights)
    if whole <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative with a positive sum")
    parts: list[int] = []
    running = 0
    previous = 0
    for w in weights:
        running += w
        upto = round_half_up_div(total_minor * running, whole)
        parts.append(upto - previous)
        previous = upto
    return parts
