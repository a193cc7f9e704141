"""The unit that flows from a source to the warehouse: one page or file chunk of one table.

Connectors (API mode) and file readers (files mode) both produce ``Batch`` objects whose
frame has the contract's columns (``seeds.tables.SCHEMAS[table]``) but *loose* values: as the
source sent them, usually strings.  The pandera gate (``checks.gate``) turns a batch into
typed rows plus quarantined rows; landing upserts the typed rows.  Keeping the frame loose
until the gate means a malformed value quarantines one record instead of failing a page.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from seeds.tables import SCHEMAS

SOURCES = ("billing", "erp", "revrec", "support", "usage")


@dataclass(frozen=True)
class Batch:
    """Records of one table from one request or file chunk."""

    table: str  # contract name, e.g. "billing/invoices"
    frame: pl.DataFrame  # contract columns, values as received (String unless already typed)
    origin: str  # where it came from, for quarantine and logs: "GET /v1/invoices page 3"

    @property
    def source(self) -> str:
        """The system the table belongs to (the part before the slash)."""
        return self.table.split("/", 1)[0]

    @property
    def entity(self) -> str:
        """The table's name within its system (the part after the slash)."""
        return self.table.split("/", 1)[1]


def loose_text(value: object) -> str | None:
    """One JSON-ish value as the text the gate types (None stays null, booleans lowercase)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def loose_frame(table: str, records: list[dict[str, object]]) -> pl.DataFrame:
    """Contract columns from JSON-ish records, every value as a string (None stays null).

    Booleans become "true"/"false", numbers their ``str``; nested values are not expected
    here (connectors flatten them first).  Extra keys are dropped, missing ones are null.
    """
    columns = list(SCHEMAS[table])
    data = {c: [loose_text(r.get(c)) for r in records] for c in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))
