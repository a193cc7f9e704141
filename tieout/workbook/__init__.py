"""The Excel round trip of the review state (DESIGN §6, issue 7).

Controllers export the exceptions to a workbook (``export``), fill in status, owner, note and
the reason for a status change, and import it back (``importer``): every cell is checked
against the originals the workbook carries, and the edits are applied all or nothing through
``tieout.review``, audited like any other edit.  ``layout`` is the column layout both sides
share.
"""

from .export import (
    ExportResult,
    Origin,
    Selection,
    Tally,
    export_csv,
    export_workbook,
    select_rows,
    summarise,
)
from .importer import (
    Edit,
    ImportPlan,
    ImportResult,
    Manifest,
    Original,
    WorkbookProblem,
    WorkbookRejected,
    import_workbook,
    plan_import,
    read_manifest,
)
from .layout import COLUMN_NAMES, EDITABLE, FORMAT_VERSION, META_SHEET, SUMMARY_SHEET

__all__ = [
    "COLUMN_NAMES", "EDITABLE", "FORMAT_VERSION", "META_SHEET", "SUMMARY_SHEET", "Edit",
    "ExportResult", "ImportPlan", "ImportResult", "Manifest", "Origin", "Original",
    "Selection", "Tally", "WorkbookProblem", "WorkbookRejected", "export_csv",
    "export_workbook", "import_workbook", "plan_import", "read_manifest", "select_rows",
    "summarise",
]
