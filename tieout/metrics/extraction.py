"""An extraction's operating metrics: what the APIs did (the recorder) and what the gate and
landing did with it (the extraction report), as metric rows per source, endpoint and table.

Two different kinds of "duplicate" are kept apart on purpose: a connector drops an exact
repeat of a record while paging (``dimension = 'connector'``, per API endpoint), and landing
keeps only the newest of a key read twice in one unit (``'landing'``, per contract table).  A
source sending repeats shows in the first; records changing while we page show in the second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .catalog import Metric
from .recorder import HttpRecorder

if TYPE_CHECKING:
    from tieout.extract.runner import ExtractReport


def extraction_metrics(report: ExtractReport | None, recorder: HttpRecorder | None,
                       seconds: Mapping[str, float]) -> list[Metric]:
    """Rows for every source in ``seconds`` (source -> wall-clock seconds of its extraction).

    ``report`` may be None (the extraction failed before it began) and ``recorder`` None (no
    API was called); what was measured is still returned.
    """
    rows: list[Metric] = []
    tables = report.tables if report is not None else {}
    for source, spent in sorted(seconds.items()):
        if recorder is not None:
            rows.extend(recorder.metrics(source))
        received = 0
        for table, counts in sorted(tables.items()):
            if table.split("/", 1)[0] != source:
                continue
            received += counts.received
            rows.append(Metric("records_received", counts.received, source, table))
            for check, records in sorted(counts.quarantined_by_check.items()):
                rows.append(Metric("records_quarantined", records, source, table, check))
            if counts.repeated:
                rows.append(Metric("duplicates_suppressed", counts.repeated, source, table,
                                   "landing"))
        rows.append(Metric("extract_seconds", round(spent, 3), source))
        if spent > 0:
            rows.append(Metric("throughput", round(received / spent, 3), source))
    return rows
