"""Analyst access: a published read-only snapshot of the marts and one guarded query at a time.

Analysts never touch the working warehouse: a run publishes a new snapshot file and renames it
into place (``snapshot``), and ``tieout query`` runs a single SELECT on it after ``guard``
has proved the statement reads only tables of the snapshot.
"""

from .guard import QueryRefused, check_query
from .snapshot import publish_snapshot, snapshot_path

__all__ = ["QueryRefused", "check_query", "publish_snapshot", "snapshot_path"]
