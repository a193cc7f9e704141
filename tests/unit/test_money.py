"""Money helpers: nothing is lost or created by conversion, rounding or allocation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tieout.money import (
    CURRENCY_EXPONENTS,
    UnknownCurrencyError,
    allocate_by_weight,
    exponent,
    round_half_up_div,
    to_major,
    to_minor,
)

amounts = st.integers(min_value=-10**15, max_value=10**15)
currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))


@given(amounts, st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=40))
def test_allocation_sums_exactly_and_stays_within_one_unit(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        weights = [*weights[:-1], 1]
    parts = allocate_by_weight(total, weights)
    assert sum(parts) == total
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / whole
        assert abs(Decimal(part) - exact) <= 1


@given(amounts, currencies)
def test_minor_major_round_trip(amount: int, currency: str) -> None:
    major = to_major(amount, currency)
    assert to_minor(major, currency) == amount
    assert -major.as_tuple().exponent == exponent(currency) or amount == 0


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=1, max_value=10**6))
def test_half_up_division_matches_decimal(n: int, d: int) -> None:
    from decimal import ROUND_HALF_UP

    expected = int((Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert round_half_up_div(n, d) == expected


def test_jpy_has_no_minor_unit() -> None:
    assert to_major(1500, "JPY") == Decimal("1500")
    assert to_minor(Decimal("1500.4"), "jpy") == 1500
    assert to_minor(Decimal("0.005"), "USD") == 1  # half-up, explicit


def test_floats_and_unknown_currencies_are_refused() -> None:
    with pytest.raises(TypeError):
        to_minor(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(UnknownCurrencyError):
        exponent("XXX")
    with pytest.raises(ValueError):
        allocate_by_weight(100, [0, 0])
