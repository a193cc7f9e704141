"""``tieout docs``: the dbt docs site of the marts, as one self-contained HTML file.

``dbt docs generate --static`` writes ``static_index.html`` with the manifest and catalog
inlined, so an analyst can open it from disk (no server, no network).  The catalog is read
from the warehouse the configuration names; artifacts go beside the configuration, never into
the repository.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tieout.config import TieoutConfig
from tieout.errors import TieoutError

from .dbt_vars import dbt_vars_arg
from .invocation import WAREHOUSE_ENV, dbt_executable
from .manifest import PROJECT_DIR

DOCS_SELECTION = "path:models/marts"


def docs_path(cfg: TieoutConfig) -> Path:
    """``<config dir>/.tieout/dbt/docs``: where the docs site of this configuration goes."""
    return cfg.root.resolve() / ".tieout" / "dbt" / "docs"


def generate_docs(cfg: TieoutConfig) -> Path:
    """Generate the docs site for the marts; returns the path of the single HTML file."""
    if not cfg.warehouse.is_file():
        raise TieoutError(f"warehouse {cfg.warehouse} does not exist: run `tieout run "
                          f"--config {cfg.path}` first (the docs describe its marts)")
    target = docs_path(cfg)
    target.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, WAREHOUSE_ENV: str(cfg.warehouse.resolve()),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [dbt_executable(), "docs", "generate", "--static",
               "--select", DOCS_SELECTION, "--project-dir", str(PROJECT_DIR),
               "--profiles-dir", str(PROJECT_DIR), "--target-path", str(target),
               "--log-path", str(target), "--vars", dbt_vars_arg(cfg), "--quiet"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    page = target / "static_index.html"
    if done.returncode != 0 or not page.is_file():
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        raise TieoutError(f"dbt docs generate failed: "
                          f"{' '.join(' '.join(lines[-6:]).split())[:600]} "
                          f"(log: {target / 'dbt.log'})")
    return page
