"""Ground truth: every exception each injection must cause, written from the injection itself.

Injections record their primary exception row and, where they move an aggregate, a signed
delta (ERP minus billing for a customer's open receivable; ERP minus revrec for a period's
deferred-revenue movement).  The aggregate exceptions are then the keys whose deltas do not
net to within tolerance, each linked to the injections behind it (``root_cause``), so the
pipeline's rules are never consulted to write the truth they are judged against.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from polars._typing import IntoExpr, PolarsDataType

from tieout.money import CURRENCY_EXPONENTS
from tieout.rules import QUIET_CASES, RULES

from .calendar import LAST_CLOSED_PERIOD
from .frames import minor_to_decimal_str

ROW_SCHEMA: dict[str, PolarsDataType] = {
    "injection_id": pl.String, "rule": pl.String, "natural_key": pl.String,
    "expected_reported": pl.Boolean, "entity": pl.String, "currency": pl.String,
    "period": pl.String, "billing_minor": pl.Int64, "other_minor": pl.Int64,
    "difference_minor": pl.Int64, "root_cause": pl.String, "detail": pl.String,
    "erp_key": pl.String,
}
ABS_TOLERANCE_MINOR = 1  # one minor unit in every currency (tieout.toml tolerances)


class Truth:
    """Collects injections as they happen and derives their aggregate consequences."""

    def __init__(self) -> None:
        self._rows: list[pl.DataFrame] = []
        self._ar: list[pl.DataFrame] = []
        self._rf: list[pl.DataFrame] = []
        self._next = 1

    def record(self, rule: str, frame: pl.DataFrame, *, expected: bool = True,
               **cols: Any) -> pl.DataFrame:
        """Add one row per frame row; returns the frame with its ``injection_id`` column."""
        n = frame.height
        frame = frame.with_columns(
            injection_id=pl.format("inj_{}", pl.int_range(self._next, self._next + n)
                                   .cast(pl.String).str.zfill(5)))
        self._next += n
        if rule not in RULES and rule not in QUIET_CASES:  # a typo must not reach ground truth
            raise KeyError(f"unknown rule code {rule!r}")
        exprs: dict[str, IntoExpr] = {"rule": pl.lit(rule), "expected_reported": pl.lit(expected),
                 "root_cause": pl.col("injection_id"), **cols}
        rows = frame.select("injection_id", **exprs)
        self._rows.append(rows.select([
            (pl.col(c) if c in rows.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in ROW_SCHEMA.items()]))
        return frame

    def new_ids(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Injection ids for faults whose only exception is an aggregate one."""
        n = frame.height
        out = frame.with_columns(injection_id=pl.format(
            "inj_{}", pl.int_range(self._next, self._next + n).cast(pl.String).str.zfill(5)))
        self._next += n
        return out

    def ar_delta(self, frame: pl.DataFrame, customer: pl.Expr, currency: pl.Expr,
                 delta: pl.Expr) -> None:
        """ERP-minus-billing change of a customer's open receivable."""
        self._ar.append(frame.select("injection_id", customer=customer, currency=currency,
                                     delta=delta.cast(pl.Int64)))

    def rf_delta(self, frame: pl.DataFrame, entity: pl.Expr, currency: pl.Expr,
                 period: pl.Expr, delta: pl.Expr) -> None:
        """ERP-minus-revrec change of a period's deferred-revenue movement."""
        self._rf.append(frame.select("injection_id", entity=entity, currency=currency,
                                     period=period, delta=delta.cast(pl.Int64)))

    def _derived(self) -> list[pl.DataFrame]:
        out = []
        if self._ar:
            ar = pl.concat(self._ar).group_by("customer", "currency").agg(
                delta=pl.col("delta").sum(), root_cause=pl.col("injection_id").sort()
                .str.join(";"))
            ar = ar.filter(pl.col("delta").abs() > ABS_TOLERANCE_MINOR).select(
                injection_id=pl.lit(None, pl.String), rule=pl.lit("AR_CUSTOMER_MISMATCH"),
                natural_key=pl.format("customer:{}|{}", "customer", "currency"),
                expected_reported=pl.lit(True), currency="currency",
                difference_minor="delta", root_cause="root_cause",
                detail=pl.lit("open receivable differs (sum of the root causes' effects)"))
            out.append(ar)
        if self._rf:
            rf = pl.concat(self._rf).filter(pl.col("period") <= LAST_CLOSED_PERIOD).group_by(
                "entity", "currency", "period").agg(
                delta=pl.col("delta").sum(), root_cause=pl.col("injection_id").sort()
                .str.join(";"))
            rf = rf.filter(pl.col("delta").abs() > ABS_TOLERANCE_MINOR).select(
                injection_id=pl.lit(None, pl.String), rule=pl.lit("ROLLFORWARD_BREAK"),
                natural_key=pl.format("rollforward:{}|{}|{}", "entity", "currency", "period"),
                expected_reported=pl.lit(True), entity="entity", currency="currency",
                period="period", difference_minor="delta", root_cause="root_cause",
                detail=pl.lit("deferred-revenue movement differs (ERP minus revrec)"))
            out.append(rf)
        return out

    def frame(self, erp_ids: pl.DataFrame | None = None) -> pl.DataFrame:
        """All ground-truth rows with amounts as decimal strings in major units.

        ``erp_ids`` maps ERP document keys to internal ids, for natural keys that name ERP
        records (``erp_transaction:<id>``), which exist only once the ERP is finalized.
        """
        rows = pl.concat(self._rows + [
            d.select([(pl.col(c) if c in d.columns else pl.lit(None)).cast(t).alias(c)
                      for c, t in ROW_SCHEMA.items()]) for d in self._derived()
        ]) if self._rows else pl.DataFrame(schema=ROW_SCHEMA)
        if erp_ids is not None:
            rows = rows.join(erp_ids.select(erp_key="key", erp_id="id"), on="erp_key",
                             how="left").with_columns(
                natural_key=pl.when(pl.col("erp_key").is_not_null())
                .then(pl.lit("erp_transaction:") + pl.col("erp_id").cast(pl.String))
                .otherwise(pl.col("natural_key"))).drop("erp_id")
        exp = pl.col("currency").replace_strict(CURRENCY_EXPONENTS, default=2,
                                                return_dtype=pl.Int64)
        money = {c.removesuffix("_minor"): minor_to_decimal_str(pl.col(c), exp)
                 for c in ("billing_minor", "other_minor", "difference_minor")}
        return rows.with_columns(**money).rename(
            {"billing": "billing_amount", "other": "other_amount"}
        ).select("rule", "natural_key", "expected_reported", "entity", "currency", "period",
                 "billing_amount", "other_amount", "difference", "root_cause", "injection_id",
                 "detail").sort("rule", "natural_key")
