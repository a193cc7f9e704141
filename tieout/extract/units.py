"""Units of extraction: what lands in one transaction.

A unit is one export file (files mode), one usage file, or one API table group such as
"invoices with their lines" (API mode).  Its rows, quarantined rows, batch records and the
watermark or manifest entry it advances commit together, so a crash anywhere leaves either
all of a unit or none of it, and a re-run picks up exactly where the committed state says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .batch import Batch


@dataclass
class Unit:
    """Batches that land together, and what to remember once they have."""

    source: str
    label: str  # shown in logs and ops: a file path or "billing/invoices"
    batches: Iterable[Batch]
    mode: str  # "api" or "files"
    watermark_entity: str | None = None  # advance ops.watermarks(source, entity) on commit
    watermark_value: str | None = None  # ... to this ISO-8601 UTC instant
    # usage files to record in ops.usage_files on commit: (key relative to the usage folder,
    # sha256, path)
    manifest: list[tuple[str, str, Path]] = field(default_factory=list)
