"""Random mixes of good and corrupted rows: counts always add up, no good row is lost."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.gate import gate
from seeds.generator import CompanySummary
from tieout.extract.batch import Batch

from .loose import read_table, render_loose

TABLE = "billing/invoice_lines"
ROWS = 60

# (column, bad value): each makes its row fail at least one check on its own.
CORRUPTIONS = [
    ("amount", "12.50"), ("amount", "NaN"), ("amount", "9223372036854775808"),
    ("quantity", "Infinity"), ("quantity", "-1"), ("currency", "xxx"), ("currency", "USD"),
    ("id", None), ("id", ""), ("invoice", " "), ("proration", "maybe"), ("period_start", "0"),
    ("period_end", "1e9"), ("type", "refund"), ("tax_amount", ""), ("line_number", "1.0"),
]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.dictionaries(st.integers(0, ROWS - 1),
                          st.lists(st.sampled_from(CORRUPTIONS), min_size=1, max_size=3),
                          max_size=ROWS),
    duplicates=st.lists(st.tuples(st.integers(0, ROWS - 1), st.integers(0, ROWS - 1)),
                        max_size=3),
)
def test_counts_add_up_and_good_rows_land(
        company500: CompanySummary, picks: dict[int, list[tuple[str, str | None]]],
        duplicates: list[tuple[int, int]]) -> None:
    typed = read_table(company500.out_dir, TABLE).head(ROWS)
    loose = render_loose(TABLE, typed)
    columns = {name: loose.get_column(name).to_list() for name in loose.columns}
    for source, target in duplicates:  # target takes source's id
        columns["id"][target] = columns["id"][source]
    for row, corruptions in picks.items():
        for column, value in corruptions:
            columns[column][row] = value
    frame = pl.DataFrame(columns, schema=loose.schema)

    result = gate(Batch(TABLE, frame, "property"))

    ids = columns["id"]
    copies = {i: ids.count(i) for i in ids if i is not None}
    expected_bad = set(picks) | {r for r, i in enumerate(ids) if i is not None and copies[i] > 1}
    quarantined_rows = set(result.quarantine.get_column("row").to_list())
    assert quarantined_rows == expected_bad
    assert result.received == ROWS == result.landed + result.quarantined
    assert result.quarantined == len(expected_bad)
    good = [r for r in range(ROWS) if r not in expected_bad]
    expected = typed.with_columns(id=pl.Series(ids, dtype=pl.String))
    assert result.clean.equals(expected[good] if good else typed.head(0))
