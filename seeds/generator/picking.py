"""Choosing which records get a fault: seeded, disjoint, one fault per record.

Keeping injections on distinct invoices keeps their consequences independent and therefore
predictable, which is what lets ground truth be written from the injections alone.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .frames import pick
from .rates import Rates


class Picker:
    """Hands out eligible records for each rule, never the same invoice twice."""

    def __init__(self, rng: np.random.Generator, rates: Rates) -> None:
        self.rng = rng
        self.rates = rates
        self.taken: set[str] = set()

    def take(self, code: str, eligible: pl.DataFrame, key: str = "invoice") -> pl.DataFrame:
        """A seeded subset of ``eligible`` (one row per ``key``) of the rule's rate."""
        if key in eligible.columns:
            eligible = eligible.filter(~pl.col(key).is_in(list(self.taken)))
            eligible = eligible.sort(key).unique(key, keep="first", maintain_order=True)
        n = self.rates.count(code, eligible.height)
        chosen = pick(eligible, n, self.rng) if n else eligible.clear()
        if key in chosen.columns:
            self.taken.update(chosen[key].to_list())
        return chosen
