"""The peers: each answers the invoice question on the same two Parquet files.

Run one peer in its own process (``run`` does this)::

    python -m benchmarks.compare.peers PEER DATA_DIR

It imports the peer's libraries first, then times reading both files and comparing them, and
prints one JSON line: the counts per kind, the seconds, its own peak RSS and library
versions.  Module level imports only the standard library so the datacompy peers can run
under an interpreter that has no tieout (datacompy 1.1 needs polars < 1.45, tieout polars 2).

How each peer's answer maps onto the kinds, and where it cannot be right by construction:

* ``duckdb_sql``: one hand-written query, group by key per side, one full outer join,
  DECIMAL arithmetic.  Right; the near-floor of what this question can cost.
* ``tieout``: ``tieout.compare.compare_keyed``, which also keeps the exception rows.
* ``pandas_merge``: what people write: an outer merge with ``indicator=True`` and the
  tolerance checked on float64.  No grain check (duplicates fan out into extra pairs and are
  never reported), float64 flags some exact one-cent differences, and ``!=`` on strings
  counts NULL against NULL as a mismatch.
* ``datacompy_polars`` / ``datacompy_pandas``: ``PolarsCompare`` / ``PandasCompare`` with
  ``join_columns="invoice_id"`` and ``abs_tol=0.01``.  Missing = its unique rows per side
  (``df1_unq_rows``, ``df2_unq_rows``); amount and field mismatches = ``unequal_cnt`` of the
  column in ``column_stats``.  It has no duplicate report: it numbers the copies of a key in
  row order and pairs copy n with copy n, so the unpaired copy becomes a unique row ("missing")
  and a changed first copy an amount mismatch; duplicates count 0.  Its tolerance is
  ``np.isclose`` on float64 (some exact one-cent differences flagged) and one number for
  every currency (1-yen differences flagged with 0.01).
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.compare.common import (
    AMOUNT,
    BILLING,
    CURRENCY,
    DEFAULT_TOLERANCE,
    ERP,
    FIELDS,
    KEY,
    KINDS,
    TOLERANCES,
)

Counts = dict[str, int]

# The libraries each peer needs, imported before the clock starts.
REQUIRES: dict[str, tuple[str, ...]] = {
    "duckdb_sql": ("duckdb",),
    "tieout": ("duckdb", "tieout.compare"),
    "pandas_merge": ("pandas", "pyarrow"),
    "datacompy_polars": ("datacompy", "polars", "pyarrow"),
    "datacompy_pandas": ("datacompy", "pandas", "pyarrow"),
}

# The hand-written near-floor.  Tolerance: one yen when both sides say JPY, else one cent;
# for this data that is tieout's "smaller of the two currencies' tolerances".
FLOOR_SQL = """
WITH b AS (
    SELECT invoice_id, count(*) AS n, any_value(amount) AS amount,
           any_value(currency) AS currency, any_value(customer_id) AS customer_id,
           any_value(status) AS status
    FROM read_parquet('{billing}') GROUP BY invoice_id
), e AS (
    SELECT invoice_id, count(*) AS n, any_value(amount) AS amount,
           any_value(currency) AS currency, any_value(customer_id) AS customer_id,
           any_value(status) AS status
    FROM read_parquet('{erp}') GROUP BY invoice_id
), j AS (
    SELECT coalesce(b.n, 0) AS bn, coalesce(e.n, 0) AS en,
           b.amount AS ba, e.amount AS ea, b.currency AS bc, e.currency AS ec,
           b.customer_id AS bk, e.customer_id AS ek, b.status AS bs, e.status AS es
    FROM b FULL OUTER JOIN e ON b.invoice_id = e.invoice_id
)
SELECT count(*) FILTER (WHERE bn > 0 AND en = 0),
       count(*) FILTER (WHERE en > 0 AND bn = 0),
       count(*) FILTER (WHERE bn > 1),
       count(*) FILTER (WHERE en > 1),
       count(*) FILTER (WHERE bn = 1 AND en = 1 AND abs(ba - ea)
                        > CASE WHEN bc = 'JPY' AND ec = 'JPY' THEN 1.00 ELSE 0.01 END),
       count(*) FILTER (WHERE bn = 1 AND en = 1 AND bc IS DISTINCT FROM ec),
       count(*) FILTER (WHERE bn = 1 AND en = 1 AND bk IS DISTINCT FROM ek),
       count(*) FILTER (WHERE bn = 1 AND en = 1 AND bs IS DISTINCT FROM es)
FROM j
"""


def duckdb_sql(billing: Path, erp: Path) -> Counts:
    """One hand-written DuckDB query over the Parquet files."""
    import duckdb

    with duckdb.connect() as con:
        [row] = con.execute(FLOOR_SQL.format(billing=billing, erp=erp)).fetchall()
    return dict(zip(KINDS, (int(v) for v in row), strict=True))


def tieout(billing: Path, erp: Path) -> Counts:
    """tieout's engine; the exception rows are materialised as in production."""
    import duckdb

    from tieout.compare import CompareSpec, compare_keyed

    spec = CompareSpec(key=KEY, amount=AMOUNT, currency=CURRENCY, fields=FIELDS,
                       absolute_tolerance=TOLERANCES, default_tolerance=DEFAULT_TOLERANCE)
    with duckdb.connect() as con:
        result = compare_keyed(con, f"read_parquet('{billing}')", f"read_parquet('{erp}')", spec)
    return {kind: result.counts[kind] for kind in KINDS}


def pandas_merge(billing: Path, erp: Path) -> Counts:
    """The naive baseline: outer merge with an indicator, float64 tolerance, ``!=`` fields."""
    import pandas as pd

    b = pd.read_parquet(billing)
    e = pd.read_parquet(erp)
    merged = b.merge(e, on=KEY, how="outer", suffixes=("_b", "_e"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    tolerance = both["currency_b"].map({c: float(t) for c, t in TOLERANCES.items()})
    diff = (both["amount_b"].astype("float64") - both["amount_e"].astype("float64")).abs()
    counts = {
        "missing_in_right": int((merged["_merge"] == "left_only").sum()),
        "missing_in_left": int((merged["_merge"] == "right_only").sum()),
        "duplicate_left": 0,  # nothing here looks at grain: duplicates just fan out
        "duplicate_right": 0,
        "amount": int((diff > tolerance.fillna(float(DEFAULT_TOLERANCE))).sum()),
    }
    for name in FIELDS:
        counts[name] = int((both[f"{name}_b"] != both[f"{name}_e"]).sum())
    return counts


def _datacompy_counts(compare: Any) -> Counts:
    """Counts per kind from a datacompy compare object (polars or pandas, same attributes)."""
    unequal = {stat["column"]: int(stat["unequal_cnt"]) for stat in compare.column_stats}
    counts = {
        "missing_in_right": len(compare.df1_unq_rows),
        "missing_in_left": len(compare.df2_unq_rows),
        # datacompy has no duplicate report: it pairs the copies of a key by row order.
        "duplicate_left": 0,
        "duplicate_right": 0,
        "amount": unequal[AMOUNT],
    }
    for name in FIELDS:
        counts[name] = unequal[name]
    return counts


def datacompy_polars(billing: Path, erp: Path) -> Counts:
    """datacompy's PolarsCompare, abs_tol 0.01, joined on the invoice id."""
    import datacompy
    import polars as pl

    compare = datacompy.PolarsCompare(pl.read_parquet(billing), pl.read_parquet(erp),
                                      join_columns=KEY, abs_tol=float(DEFAULT_TOLERANCE),
                                      df1_name="billing", df2_name="erp")
    return _datacompy_counts(compare)


def datacompy_pandas(billing: Path, erp: Path) -> Counts:
    """datacompy's PandasCompare, abs_tol 0.01, joined on the invoice id."""
    import datacompy
    import pandas as pd

    compare = datacompy.PandasCompare(pd.read_parquet(billing), pd.read_parquet(erp),
                                      join_columns=KEY, abs_tol=float(DEFAULT_TOLERANCE),
                                      df1_name="billing", df2_name="erp")
    return _datacompy_counts(compare)


PEERS: dict[str, Callable[[Path, Path], Counts]] = {
    "duckdb_sql": duckdb_sql,
    "tieout": tieout,
    "pandas_merge": pandas_merge,
    "datacompy_polars": datacompy_polars,
    "datacompy_pandas": datacompy_pandas,
}


def _versions(modules: tuple[str, ...]) -> dict[str, str]:
    """Versions of the top-level packages a peer used."""
    out: dict[str, str] = {}
    for name in dict.fromkeys(m.split(".")[0] for m in modules):
        out[name] = str(getattr(sys.modules[name], "__version__", "?"))
    return out


def measure(peer: str, data_dir: Path) -> dict[str, Any]:
    """Import, then time read + compare; peak RSS of this whole process in MB."""
    for module in REQUIRES[peer]:
        importlib.import_module(module)
    started = time.perf_counter()
    counts = PEERS[peer](data_dir / BILLING, data_dir / ERP)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"peer": peer, "seconds": seconds, "peak_mb": peak_kb / 1024, "counts": counts,
            "versions": _versions(REQUIRES[peer])}


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.compare.peers PEER DATA_DIR``: one JSON line on stdout."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in PEERS:
        sys.exit(f"usage: python -m benchmarks.compare.peers {{{','.join(PEERS)}}} DATA_DIR")
    print(json.dumps(measure(args[0], Path(args[1]))), flush=True)


if __name__ == "__main__":
    main()

