"""Where a dbt invocation writes, which warehouse it targets, and what it reports on failure.

Every dbt command tieout runs (the Dagster assets, ``tieout run``, the manifest parse) goes
through these helpers, so none of them writes ``target/`` or ``logs/`` into the repository and
all of them find the warehouse the same way: ``profiles.yml`` reads ``TIEOUT_WAREHOUSE``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tieout.config import TieoutConfig

WAREHOUSE_ENV = "TIEOUT_WAREHOUSE"

# Options of every production ``dbt build`` (the Dagster dbt asset, the benchmark).  dbt unit
# tests check model logic on fixed inputs, never the run's data, so they belong to development
# and CI (dbt's own advice), not to each nightly build: the test suite runs every one of them
# (tests/test_reconcile_run.py::test_every_dbt_unit_test_passes).
PRODUCTION_BUILD_OPTIONS: tuple[str, ...] = ("--exclude-resource-type", "unit_test")


def dbt_executable() -> str:
    """The ``dbt`` beside this interpreter (a venv's ``bin``), so PATH need not include it."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file():
        return str(beside)
    return shutil.which("dbt") or "dbt"


def run_target_path(cfg: TieoutConfig) -> Path:
    """``<config dir>/.tieout/dbt/target``: artifacts and logs of this configuration's runs.

    One fixed folder per configuration (not one per run) so dbt's partial parsing is reused
    while the vars stay the same, and disk use does not grow with the number of runs.
    """
    return cfg.root.resolve() / ".tieout" / "dbt" / "target"


@contextmanager
def warehouse_env(warehouse: Path) -> Iterator[None]:
    """Set ``TIEOUT_WAREHOUSE`` for the dbt subprocess started inside, then restore it.

    dagster-dbt passes the current environment to dbt and offers no per-call override; the
    variable is a path, not a secret.
    """
    previous = os.environ.get(WAREHOUSE_ENV)
    os.environ[WAREHOUSE_ENV] = str(Path(warehouse).resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(WAREHOUSE_ENV, None)
        else:
            os.environ[WAREHOUSE_ENV] = previous


def failed_nodes(target_path: Path, limit: int = 3) -> list[str]:
    """``"<node>: <message>"`` for each errored model or failed test in ``run_results.json``.

    The Dagster failure only says the dbt process exited non-zero; this names what broke.
    """
    path = target_path / "run_results.json"
    try:
        results = json.loads(path.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return []
    broken = [r for r in results if r.get("status") in {"error", "fail", "runtime error"}]
    lines = []
    for result in broken[:limit]:
        node = str(result.get("unique_id", "?")).split(".", 2)[-1]
        message = " ".join(str(result.get("message") or result.get("status")).split())
        message = re.sub(r"^[\w ]*Error in \w+ \S+ \([^)]*\) ", "", message)  # names the node
        lines.append(f"{node}: {message[:160]}")
    if len(broken) > limit:
        lines.append(f"... and {len(broken) - limit} more")
    return lines
