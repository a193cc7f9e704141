"""The shape every API connector shares, so the extract step can drive any source the same way.

A connector owns one ``HttpClient`` and turns its system into a stream of ``Batch`` objects,
one page of one contract table at a time, so nothing ever holds a whole source in memory
(DESIGN §10). Work is split into *table groups*: a group is named after its parent contract
table and yields that table plus the child tables the API embeds in it (an invoice page
carries its lines, a revenue schedule its schedule lines), because the children cannot be
fetched without walking the parent anyway.

Watermarks are ``datetime`` values, inclusive (``>=``): a run passes the watermark it stored
and gets every record changed at or after it. A naive datetime is read as UTC (the
warehouse stores UTC). Each connector floors the watermark to what its API can express
(whole seconds for billing and the ERP), which only ever widens the window. The next
watermark should be taken from the clock *before* extraction starts, minus
``WATERMARK_OVERLAP`` (see ``next_watermark``): records changed while a run pages, and
small clock differences between us and the source, then fall inside the next run's window
instead of between two runs. Re-reading a record is harmless (landing upserts by key);
missing one is not.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from tieout.connectors.http import HttpClient
from tieout.errors import InputError
from tieout.extract.batch import Batch, loose_frame

WATERMARK_OVERLAP = timedelta(minutes=5)
EARLIEST = datetime.min.replace(tzinfo=UTC)  # sorts first, like a missing timestamp


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def next_watermark(started_at: datetime) -> datetime:
    """The watermark to store after a successful run that started at ``started_at``."""
    return as_utc(started_at) - WATERMARK_OVERLAP


def iso_z(moment: datetime) -> str:
    """An ``updated_since`` value for the plain-REST APIs: ISO 8601 in UTC with a Z."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def parse_timestamp(raw: object) -> datetime | None:
    """An ISO 8601 timestamp a source sent, as aware UTC (no offset means UTC); None when it
    is missing or unreadable (the gate reports unreadable values; paging only compares)."""
    if raw is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(str(raw)))
    except ValueError:
        return None


class Connector(ABC):
    """Base of the billing, ERP and revrec connectors (see the module docstring).

    Subclasses set ``system``, ``groups`` and ``max_page_size`` (the API's limit, also the
    default) and implement ``_extract``; ``extract`` checks the group and normalises the
    watermark before any request is made.
    """

    system: ClassVar[str]
    groups: ClassVar[Mapping[str, tuple[str, ...]]]  # group (parent table) -> tables yielded
    max_page_size: ClassVar[int]

    def __init__(self, client: HttpClient, *, page_size: int | None = None) -> None:
        size = self.max_page_size if page_size is None else page_size
        if not 1 <= size <= self.max_page_size:
            raise ValueError(f"{self.system} page_size must be 1..{self.max_page_size}, "
                             f"got {page_size}")
        self.client = client
        self.page_size = size
        self.tables: tuple[str, ...] = tuple(
            table for tables in self.groups.values() for table in tables
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client!r})"

    def extract(self, table_group: str, since: datetime | None = None) -> Iterator[Batch]:
        """Batches of ``table_group`` changed at or after ``since`` (everything when None).

        Lazy: no request is made until the first batch is asked for, and one page is held
        at a time. Raises ``InputError`` at once for an unknown group, ``SourceError`` (while
        iterating) when the source fails for good.
        """
        if table_group not in self.groups:
            raise InputError(
                f"{self.system}: unknown table group {table_group!r} "
                f"(groups: {', '.join(self.groups)})"
            )
        return self._extract(table_group, None if since is None else as_utc(since))

    def extract_all(self, since: datetime | None = None) -> Iterator[Batch]:
        """Every group in turn (reference tables first), with one watermark."""
        for group in self.groups:
            yield from self.extract(group, since)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    @abstractmethod
    def _extract(self, group: str, since: datetime | None) -> Iterator[Batch]:
        """The batches of one known group; ``since`` is aware UTC or None."""

    def _batch(self, table: str, records: list[dict[str, Any]], origin: str) -> Batch:
        """A loose batch of ``records``, counted in the client's stats."""
        self.client.count_records(table, len(records))
        return Batch(table=table, frame=loose_frame(table, records), origin=origin)
