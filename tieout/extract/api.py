"""API mode: one unit per connector table group, with its incremental watermark.

The watermark stored with a group's data is the clock at the moment the group's extraction
began, minus the source's overlap window (``overlap_seconds``): anything changed while the
group was paging, or just before, is read again by the next run, and re-reading is harmless
because landing upserts by key.  ``full`` ignores stored watermarks (a re-extraction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import duckdb

from tieout.config import SourceConfig
from tieout.connectors.factory import connect
from tieout.warehouse import ops

from .runner import watermark_value
from .units import Unit


def api_units(con: duckdb.DuckDBPyConnection, src: SourceConfig, token: str, *,
              full: bool = False, **client_options: Any) -> Iterator[Unit]:
    """Units for every table group of an API-mode source, in the connector's order."""
    assert src.base_url is not None
    connector = connect(src.name, src.base_url, token, **client_options)
    try:
        for group in connector.groups:
            entity = group.split("/", 1)[1]
            stored = None if full else ops.get_watermark(con, src.name, entity)
            since = dt.datetime.fromisoformat(stored) if stored else None
            started = dt.datetime.now(dt.UTC)
            yield Unit(source=src.name, label=group, batches=connector.extract(group, since),
                       mode="api", watermark_entity=entity,
                       watermark_value=watermark_value(
                           started - dt.timedelta(seconds=src.overlap_seconds)))
    finally:
        connector.close()
