"""Keyed comparison: which keys are missing, duplicated or different between two relations.

This answers the billing-vs-ERP invoice question (and any other "same records, two systems"
question) the way a reconciliation must, which is where the usual data-frame comparers go
wrong:

* **Grain is asserted, not assumed.**  A key that occurs more than once on a side is reported
  as a duplicate of that side and takes no further part: it is never fanned out by the join
  and never paired with the other side by row order, because either would invent a pairing
  the data does not contain and hide the real exception (one invoice posted twice).
* **Money is exact.**  Amounts stay DECIMAL inside DuckDB and are compared against the
  tolerance in one explicit DECIMAL type, so a difference of exactly 0.01 with a tolerance of
  0.01 is inside it.  In float64, 100.01 - 100.00 is 0.010000000000005116, and every
  float-based comparer flags such exact one-cent differences at random.  The tolerance is per
  currency (a yen is not a cent).
* **NULL is a value for fields.**  NULL against a value is a mismatch; NULL against NULL is
  not (``IS DISTINCT FROM``).  Rows whose key is NULL cannot be matched to anything and are
  reported as such, rather than lumped into one pseudo-key.

Everything happens in one DuckDB statement: each side is grouped by key once (its row count
per key and, for the keys that occur once, its values), the two are full-outer-joined on
key, and the keys with any exception land in a temporary table, from which the counts per
kind are read.  The Python side only builds SQL and reads a handful of integers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

MISSING_IN_RIGHT = "missing_in_right"
MISSING_IN_LEFT = "missing_in_left"
DUPLICATE_LEFT = "duplicate_left"
DUPLICATE_RIGHT = "duplicate_right"
AMOUNT = "amount"
NULL_KEY_LEFT = "null_key_left"
NULL_KEY_RIGHT = "null_key_right"

# The kinds every comparison reports, in report order; one kind per compared field follows.
BASE_KINDS: tuple[str, ...] = (
    MISSING_IN_RIGHT, MISSING_IN_LEFT, DUPLICATE_LEFT, DUPLICATE_RIGHT, AMOUNT,
)
# Rows whose key is NULL: counted in rows (each is an unidentifiable record), not in keys.
NULL_KEY_KINDS: tuple[str, ...] = (NULL_KEY_LEFT, NULL_KEY_RIGHT)

# DuckDB's widest exact type.  Every amount and tolerance is cast to DECIMAL(38, S) with one S
# so no comparison mixes two decimal types: DuckDB's implicit common type of two DECIMAL(38, x)
# keeps the *smaller* scale (coalesce(DECIMAL(38,2), DECIMAL(38,3)) is DECIMAL(38,2)), which
# would silently round a 0.001 tolerance to 0.00.
_MAX_WIDTH = 38
_MAX_TOLERANCE_SCALE = 18
_INTEGER_WIDTHS = {"TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19}
_DECIMAL_TYPE = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


@dataclass(frozen=True)
class CompareSpec:
    """What to compare: the key, the amount with its per-currency tolerance, and plain fields.

    ``absolute_tolerance`` maps a currency code, exactly as stored in the ``currency`` column,
    to the largest absolute amount difference that is still a match; currencies not in it
    (and a NULL currency) get ``default_tolerance``.  A difference equal to the tolerance is a
    match.  ``fields`` are compared for equality with NULL equal to NULL only; the currency
    column is usually one of them.
    """

    key: str
    amount: str
    currency: str
    fields: tuple[str, ...] = ()
    absolute_tolerance: Mapping[str, Decimal] = field(default_factory=dict)
    default_tolerance: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        """Refuse specs that could only produce a wrong answer later."""
        for tolerance in (*self.absolute_tolerance.values(), self.default_tolerance):
            if not isinstance(tolerance, Decimal):
                raise TypeError(f"tolerance {tolerance!r} must be a Decimal, not a float or int")
            if not tolerance.is_finite() or tolerance < 0:
                raise ValueError(f"tolerance {tolerance} must be finite and non-negative")
            if _scale(tolerance) > _MAX_TOLERANCE_SCALE:
                raise ValueError(f"tolerance {tolerance} has more than "
                                 f"{_MAX_TOLERANCE_SCALE} decimal places")
        if self.key in self.fields or self.amount in self.fields or self.key == self.amount:
            raise ValueError("key and amount are compared on their own, not as fields")
        if len(set(self.fields)) != len(self.fields):
            raise ValueError(f"fields repeat a column: {self.fields}")
        clash = set(self.fields) & set(BASE_KINDS + NULL_KEY_KINDS)
        if clash:
            raise ValueError(f"field names clash with exception kinds: {sorted(clash)}")

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind this spec reports, in report order (NULL-key kinds last)."""
        return BASE_KINDS + self.fields + NULL_KEY_KINDS


@dataclass(frozen=True)
class CompareResult:
    """Counts per exception kind, and the name of the temp table holding the exception rows.

    Counts are in keys, except the NULL-key kinds, which count rows.  A key can have several
    kinds (a key duplicated on the left and absent on the right is both).  The exceptions
    table has one row per key with at least one exception: the key, ``kinds`` (a list),
    ``left_rows``/``right_rows`` (occurrences per side), ``left_<col>``/``right_<col>`` for
    the amount, the currency and every field (NULL on a side where the key is not unique),
    ``amount_diff`` (left minus right) and ``tolerance`` for keys unique on both sides.
    """

    counts: dict[str, int]
    exceptions_table: str

    @property
    def total(self) -> int:
        """Exceptions of every kind added up (a key with two kinds counts twice)."""
        return sum(self.counts.values())

    def exceptions(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        """The exception rows as a relation on the connection the comparison ran on."""
        return con.table(self.exceptions_table)


def compare_keyed(con: duckdb.DuckDBPyConnection, left: str, right: str, spec: CompareSpec,
                  *, exceptions_table: str | None = None) -> CompareResult:
    """Compare ``left`` and ``right`` on ``spec.key`` in one DuckDB pass.

    ``left`` and ``right`` are SQL relations written by the caller (a table name or, say,
    ``read_parquet('billing.parquet')``); they are inserted into the statement as they are.
    The exception rows go to a temporary table, ``exceptions_table`` or a fresh unique name,
    replaced if it exists.
    """
    scale = _common_scale(con, left, right, spec)
    table = exceptions_table or f"tieout_compare_{uuid.uuid4().hex[:12]}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(table)} AS "
                f"{_exceptions_sql(left, right, spec, scale)}")
    counts = dict.fromkeys(spec.kinds, 0)
    rows = con.execute(
        f"SELECT kind, sum(CASE kind WHEN '{NULL_KEY_LEFT}' THEN left_rows "
        f"WHEN '{NULL_KEY_RIGHT}' THEN right_rows ELSE 1 END)::BIGINT "
        f"FROM (SELECT unnest(kinds) AS kind, left_rows, right_rows FROM {_ident(table)}) "
        f"GROUP BY kind"
    ).fetchall()
    for kind, count in rows:
        counts[kind] = int(count)
    return CompareResult(counts=counts, exceptions_table=table)


def _carried(spec: CompareSpec) -> list[str]:
    """Columns carried besides key and amount: the currency, then each field, once each."""
    return list(dict.fromkeys([spec.currency, *spec.fields]))


def _exceptions_sql(left: str, right: str, spec: CompareSpec, scale: int) -> str:
    """The one statement: group each side by key, full outer join, flag, keep exceptions."""
    money = f"DECIMAL({_MAX_WIDTH}, {scale})"
    carried = _carried(spec)
    values = [f"any_value(CAST({_ident(spec.amount)} AS {money})) AS a"]
    values += [f"any_value({_ident(c)}) AS v{i}" for i, c in enumerate(carried)]
    cur = carried.index(spec.currency)

    def side(relation: str) -> str:
        return (f"SELECT {_ident(spec.key)} AS k, count(*) AS n, {', '.join(values)} "
                f"FROM {relation} GROUP BY {_ident(spec.key)}")

    joined_values = ", ".join(f"l.v{i} AS lv{i}, r.v{i} AS rv{i}" for i in range(len(carried)))
    tolerance = (f"least({_tolerance_case(f'lv{cur}', spec, money)}, "
                 f"{_tolerance_case(f'rv{cur}', spec, money)})")
    # Exactly one flag per kind; a field's flag is its position among the carried columns.
    flags: list[tuple[str, str]] = [
        (NULL_KEY_LEFT, "k IS NULL AND ln > 0"),
        (NULL_KEY_RIGHT, "k IS NULL AND rn > 0"),
        (MISSING_IN_RIGHT, "k IS NOT NULL AND ln > 0 AND rn = 0"),
        (MISSING_IN_LEFT, "k IS NOT NULL AND rn > 0 AND ln = 0"),
        (DUPLICATE_LEFT, "k IS NOT NULL AND ln > 1"),
        (DUPLICATE_RIGHT, "k IS NOT NULL AND rn > 1"),
        # NULL against an amount is a difference; otherwise beyond tolerance, exactly.  CASE
        # (which DuckDB evaluates lazily, unlike AND in a projection) looks the tolerance up
        # only for the few pairs whose amounts differ at all.
        (AMOUNT, "CASE WHEN paired AND la IS DISTINCT FROM ra "
                 f"THEN la IS NULL OR ra IS NULL OR abs(la - ra) > {tolerance} ELSE false END"),
    ]
    flags += [(f, f"paired AND lv{carried.index(f)} IS DISTINCT FROM rv{carried.index(f)}")
              for f in spec.fields]
    flag_columns = ", ".join(f"{sql} AS f{i}" for i, (_, sql) in enumerate(flags))
    any_flag = " OR ".join(f"f{i}" for i in range(len(flags)))
    kinds = ", ".join(f"CASE WHEN f{i} THEN '{kind}' END" for i, (kind, _) in enumerate(flags))
    # A side where the key is not unique has no single value to show: NULL, not any_value.
    shown = [(spec.amount, "a")] + [(c, f"v{i}") for i, c in enumerate(carried)]
    shown_columns = ", ".join(
        f"CASE WHEN ln = 1 THEN l{alias} END AS {_ident('left_' + name)}, "
        f"CASE WHEN rn = 1 THEN r{alias} END AS {_ident('right_' + name)}"
        for name, alias in shown
    )
    return f"""
WITH l AS ({side(left)}),
r AS ({side(right)}),
j AS (
    SELECT coalesce(l.k, r.k) AS k, coalesce(l.n, 0) AS ln, coalesce(r.n, 0) AS rn,
           l.a AS la, r.a AS ra, {joined_values}
    FROM l FULL OUTER JOIN r ON l.k = r.k
),
p AS (SELECT *, ln = 1 AND rn = 1 AS paired FROM j),
flagged AS (SELECT *, {flag_columns} FROM p)
SELECT k AS {_ident(spec.key)},
       list_filter([{kinds}], lambda kind: kind IS NOT NULL) AS kinds,
       ln AS left_rows, rn AS right_rows, {shown_columns},
       CASE WHEN paired THEN la - ra END AS amount_diff,
       CASE WHEN paired THEN {tolerance} END AS tolerance
FROM flagged
WHERE {any_flag}
"""


def _tolerance_case(currency_sql: str, spec: CompareSpec, money: str) -> str:
    """The tolerance for a currency expression, as a CASE over the configured currencies."""
    default = _decimal_literal(spec.default_tolerance, money)
    if not spec.absolute_tolerance:
        return default
    whens = " ".join(f"WHEN {_string_literal(currency)} THEN {_decimal_literal(tol, money)}"
                     for currency, tol in spec.absolute_tolerance.items())
    return f"CASE {currency_sql} {whens} ELSE {default} END"


def _common_scale(con: duckdb.DuckDBPyConnection, left: str, right: str,
                  spec: CompareSpec) -> int:
    """The one decimal scale all amounts and tolerances are compared in.

    It is the largest scale among both amount columns and the tolerances, so every cast is
    exact; refuses floating-point amounts (they are already wrong) and amounts whose integer
    digits would not fit beside that scale in DECIMAL(38).
    """
    sides = [(name, _amount_type(con, relation, spec.amount))
             for name, relation in (("left", left), ("right", right))]
    tolerances = [*spec.absolute_tolerance.values(), spec.default_tolerance]
    scale = max([s for _, (_, s) in sides] + [_scale(t) for t in tolerances])
    for name, (width, amount_scale) in sides:
        if width - amount_scale + scale > _MAX_WIDTH:
            raise ValueError(f"{name} amount DECIMAL({width},{amount_scale}) does not fit "
                             f"DECIMAL({_MAX_WIDTH},{scale}) exactly")
    return scale


def _amount_type(con: duckdb.DuckDBPyConnection, relation: str, amount: str) -> tuple[int, int]:
    """(width, scale) of the amount column; only exact types are accepted."""
    [dtype] = con.sql(f"SELECT {_ident(amount)} FROM {relation} LIMIT 0").types
    text = str(dtype).upper()
    if text in _INTEGER_WIDTHS:
        return _INTEGER_WIDTHS[text], 0
    match = _DECIMAL_TYPE.fullmatch(text)
    if match is None:
        raise TypeError(f"amount column {amount!r} is {text}: amounts must be DECIMAL "
                        f"(or an integer type), never floating point")
    return int(match.group(1)), int(match.group(2))


def _scale(value: Decimal) -> int:
    """Digits after the decimal point (0 for integral values written without them)."""
    exponent = value.as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def _decimal_literal(value: Decimal, money: str) -> str:
    """A Decimal as an exact SQL literal of the comparison type (through text, never float)."""
    return f"CAST('{value:f}' AS {money})"


def _string_literal(value: str) -> str:
    """A SQL string literal, quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    """A quoted SQL identifier, quotes doubled."""
    return '"' + name.replace('"', '""') + '"'
