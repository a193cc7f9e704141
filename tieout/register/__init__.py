"""The exception register: what the latest reconciliation found, read from the marts.

Read-only today (``marts.fct_exceptions``, ``marts.fct_in_transit``); the review state
(assign, note, resolve, waive) will live in ``ops`` keyed by ``exception_id`` beside it.
"""

from .read import (
    EXCEPTION_COLUMNS,
    RuleTotal,
    in_transit_counts,
    list_exceptions,
    open_register,
    rule_totals,
)

__all__ = ["EXCEPTION_COLUMNS", "RuleTotal", "in_transit_counts", "list_exceptions",
           "open_register", "rule_totals"]
