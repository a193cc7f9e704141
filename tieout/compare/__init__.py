"""Keyed comparison of two relations: the billing-vs-ERP invoice question as one DuckDB pass."""

from __future__ import annotations

from tieout.compare.keyed import (
    BASE_KINDS,
    NULL_KEY_KINDS,
    CompareResult,
    CompareSpec,
    compare_keyed,
)

__all__ = ["BASE_KINDS", "NULL_KEY_KINDS", "CompareResult", "CompareSpec", "compare_keyed"]
