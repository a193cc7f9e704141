"""Billing and ERP invoice files with planted discrepancies and their exact ground truth.

Generated inside DuckDB from a seed: every random choice is ``hash(i, seed, salt)``, so the
same seed gives the same files whatever the thread count.  Keys are ranked by a hash and the
rank decides each key's one planted case, so cases never overlap and the truth per kind is
the size of its case, exactly.

Planted, as shares of the N billing invoices:

* missing in ERP 0.5%; ERP invoices missing in billing 0.3% (extra keys past N);
* keys twice in the ERP 0.2% and twice in billing 0.1% (half the copies identical, half with
  one copy's amount changed, first or second copy);
* amount beyond tolerance 0.5% (at least two minor units: 0.02, or 2 yen);
* amount different by exactly the tolerance 1% (0.01, or 1 yen): NOT an exception;
* currency, customer and status mismatches 0.2% each (a third of the status ones are
  NULL in the ERP, a third NULL in billing);
* clean invoices whose status is NULL on both sides 1%: NOT an exception.

``truth.json`` holds the truth per kind and the planted breakdown (at-tolerance yen, changed
duplicate copies, the exact one-cent differences float64 puts beyond 0.01), from which
``run`` predicts, and so explains, the other peers' counts.

Columns, the same on both sides: invoice_id, customer_id, currency, amount DECIMAL(18,2)
(JPY amounts whole), status.  Rows are written in hash order, not key order, with the
copies of a duplicated key in copy order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.compare.common import BILLING, ERP, KINDS, TRUTH

GENERATOR_VERSION = 1

# Planted cases in rank order: (case id, name, share of N).  Case 0 is a clean invoice.
CASES: tuple[tuple[int, str, float], ...] = (
    (1, "missing_in_right", 0.005),
    (2, "duplicate_right", 0.002),
    (3, "duplicate_left", 0.001),
    (4, "amount", 0.005),
    (5, "amount_at_tolerance", 0.01),
    (6, "currency", 0.002),
    (7, "customer_id", 0.002),
    (8, "status", 0.002),
    (9, "status_null_both", 0.01),
)
MISSING_IN_LEFT_SHARE = 0.003
STATUSES = ("open", "paid", "void", "uncollectible")

_INVOICES_SQL = """
CREATE OR REPLACE TEMP TABLE invoices AS
WITH ranked AS (
    SELECT i, row_number() OVER (ORDER BY hash(i, $seed, 'case'), i) - 1 AS rnk
    FROM range(1, $rows + 1) t(i)
), drawn AS (
    SELECT i, {case_expr} AS kase,
           (hash(i, $seed, 'cust') % $customers)::BIGINT AS cust_no,
           (hash(i, $seed, 'cur') % 100)::BIGINT AS cur_draw,
           (100 + hash(i, $seed, 'amt') % 9999900)::BIGINT AS minor,
           (hash(i, $seed, 'status') % 4)::BIGINT AS status_no,
           (hash(i, $seed, 'variant') % 12)::BIGINT AS variant,
           CASE WHEN hash(i, $seed, 'sign') % 2 = 0 THEN 1 ELSE -1 END AS sign,
           (hash(i, $seed, 'delta') % 1000)::BIGINT AS delta_draw,
           hash(i, $seed, 'order') AS row_order
    FROM ranked
)
SELECT i, kase, variant, sign, delta_draw, row_order, minor,
       'INV-' || lpad(i::VARCHAR, 9, '0') AS invoice_id,
       cust_no,
       CASE WHEN cur_draw < 60 THEN 'USD' WHEN cur_draw < 80 THEN 'EUR'
            WHEN cur_draw < 90 THEN 'GBP' ELSE 'JPY' END AS currency,
       status_no
FROM drawn
"""

# One minor unit (= the tolerance) of the invoice's currency, and the amount in it.
_UNIT = "CASE WHEN currency = 'JPY' THEN 1::DECIMAL(18,2) ELSE 0.01::DECIMAL(18,2) END"
_AMOUNT = f"(minor * {_UNIT})::DECIMAL(18,2)"
_STATUS = "$statuses[status_no + 1]"
_OTHER_STATUS = "$statuses[(status_no + 1) % 4 + 1]"
_CUSTOMER = "'CUS-' || lpad(cust_no::VARCHAR, 7, '0')"
# Another customer: 1..97 steps away among at least 100, so never the same one.
_OTHER_CUSTOMER = "'CUS-' || lpad(((cust_no + 1 + delta_draw % 97) % $customers)::VARCHAR, 7, '0')"
_OTHER_CURRENCY = ("CASE currency WHEN 'USD' THEN 'EUR' WHEN 'EUR' THEN 'USD' "
                   "WHEN 'GBP' THEN 'USD' ELSE 'USD' END")
# A duplicate's changed copy differs by 1..5 whole units of money.
_COPY_DELTA = f"(100 * (1 + delta_draw % 5) * {_UNIT})::DECIMAL(18,2)"

_ROWS_SQL = f"""
CREATE OR REPLACE TEMP TABLE sides AS
WITH inv AS (
    SELECT *, {_AMOUNT} AS amount, {_UNIT} AS unit FROM invoices
), copies AS (
    SELECT inv.*, c.copy FROM inv, (VALUES (1), (2)) c(copy)
    WHERE c.copy = 1 OR kase IN (2, 3)
)
-- billing: every key once, twice for case 3
SELECT 'billing' AS side, row_order, copy, invoice_id, {_CUSTOMER} AS customer_id, currency,
       CASE WHEN kase = 3 AND variant % 4 = 2 AND copy = 1 THEN amount + {_COPY_DELTA}
            WHEN kase = 3 AND variant % 4 = 3 AND copy = 2 THEN amount + {_COPY_DELTA}
            ELSE amount END AS amount,
       CASE WHEN kase = 9 OR (kase = 8 AND variant % 3 = 2) THEN NULL
            ELSE {_STATUS} END AS status
FROM copies WHERE copy = 1 OR kase = 3
UNION ALL
-- ERP: every key but case 1 once, twice for case 2, with the planted change
SELECT 'erp', row_order, copy, invoice_id,
       CASE WHEN kase = 7 THEN {_OTHER_CUSTOMER} ELSE {_CUSTOMER} END,
       CASE WHEN kase = 6 THEN {_OTHER_CURRENCY} ELSE currency END,
       CASE WHEN kase = 4 THEN amount + sign * (2 + delta_draw) * unit
            WHEN kase = 5 THEN amount + sign * unit
            WHEN kase = 2 AND variant % 4 = 2 AND copy = 1 THEN amount + {_COPY_DELTA}
            WHEN kase = 2 AND variant % 4 = 3 AND copy = 2 THEN amount + {_COPY_DELTA}
            ELSE amount END,
       CASE WHEN kase = 9 THEN NULL
            WHEN kase = 8 AND variant % 3 = 0 THEN {_OTHER_STATUS}
            WHEN kase = 8 AND variant % 3 = 1 THEN NULL
            ELSE {_STATUS} END
FROM copies WHERE kase <> 1 AND (copy = 1 OR kase = 2)
UNION ALL
-- ERP invoices billing never issued: keys past N
SELECT 'erp', hash(i, $seed, 'order'), 1, 'INV-' || lpad(i::VARCHAR, 9, '0'),
       'CUS-' || lpad((hash(i, $seed, 'cust') % $customers)::VARCHAR, 7, '0'), 'USD',
       ((100 + hash(i, $seed, 'amt') % 9999900) * 0.01)::DECIMAL(18,2),
       $statuses[(hash(i, $seed, 'status') % 4)::BIGINT + 1]
FROM range($rows + 1, $rows + 1 + $missing_in_left) t(i)
"""

# The planted breakdown that explains how the other peers count (see run.predicted_counts).
_PLANTED_SQL = f"""
SELECT 'amount_at_tolerance_jpy', count(*) FROM invoices WHERE kase = 5 AND currency = 'JPY'
UNION ALL SELECT 'duplicate_with_changed_copy', count(*) FROM invoices
WHERE kase IN (2, 3) AND variant % 4 >= 2
UNION ALL SELECT 'duplicate_first_copy_changed', count(*) FROM invoices
WHERE kase IN (2, 3) AND variant % 4 = 2
-- exact one-cent differences a float64 comparison puts beyond 0.01
UNION ALL SELECT 'amount_at_tolerance_float64_flagged', count(*) FROM invoices
WHERE kase = 5 AND currency <> 'JPY'
  AND abs(({_AMOUNT})::DOUBLE - ({_AMOUNT} + sign * {_UNIT})::DOUBLE) > 0.01
"""

_WRITE_SQL = """
COPY (SELECT invoice_id, customer_id, currency, amount::DECIMAL(18,2) AS amount, status
      FROM sides
      WHERE side = '{side}' ORDER BY row_order, copy)
TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""


def case_sizes(rows: int) -> dict[str, int]:
    """How many keys each planted case gets at this scale (and the missing-in-billing keys)."""
    sizes = {name: round(rows * share) for _, name, share in CASES}
    sizes["missing_in_left"] = round(rows * MISSING_IN_LEFT_SHARE)
    return sizes


def truth_counts(sizes: dict[str, int]) -> dict[str, int]:
    """Ground truth per kind: each planted case's size; the at-tolerance cases count zero."""
    return {kind: sizes[kind] for kind in KINDS}


def generate(out_dir: Path, rows: int, seed: int = 7) -> dict[str, Any]:
    """Write ``billing.parquet``, ``erp.parquet`` and ``truth.json`` (reused when current)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path = out_dir / TRUTH
    if truth_path.exists() and (out_dir / BILLING).exists() and (out_dir / ERP).exists():
        existing = json.loads(truth_path.read_text())
        if (existing.get("rows"), existing.get("seed"), existing.get("version")) == (
                rows, seed, GENERATOR_VERSION):
            return existing
    sizes = case_sizes(rows)
    bounds: list[str] = []
    upper = 0
    for case, name, _ in CASES:
        upper += sizes[name]
        bounds.append(f"WHEN rnk < {upper} THEN {case}")
    case_expr = f"CASE {' '.join(bounds)} ELSE 0 END"
    params = {"seed": seed, "rows": rows, "customers": max(100, rows // 10),
              "statuses": list(STATUSES), "missing_in_left": sizes["missing_in_left"]}
    con = duckdb.connect()
    try:
        con.execute(_INVOICES_SQL.format(case_expr=case_expr),
                    {k: params[k] for k in ("seed", "rows", "customers")})
        con.execute(_ROWS_SQL, {k: params[k] for k in (
            "seed", "rows", "customers", "statuses", "missing_in_left")})
        planted = dict(con.execute(_PLANTED_SQL).fetchall())
        row_counts = dict(con.execute("SELECT side, count(*) FROM sides GROUP BY side").fetchall())
        for side, name in (("billing", BILLING), ("erp", ERP)):
            con.execute(_WRITE_SQL.format(side=side, path=out_dir / name))
    finally:
        con.close()
    truth = {
        "version": GENERATOR_VERSION, "rows": rows, "seed": seed,
        "billing_rows": int(row_counts["billing"]), "erp_rows": int(row_counts["erp"]),
        "truth": truth_counts(sizes),
        "planted": {**sizes, **{k: int(v) for k, v in planted.items()}},
    }
    truth_path.write_text(json.dumps(truth, indent=2) + "\n")
    return truth
