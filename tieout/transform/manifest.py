"""The dbt manifest Dagster builds its dbt assets from: parsed once, re-parsed only when stale.

``@dbt_assets`` reads ``manifest.json`` when ``pipelines.definitions`` is imported, so the
manifest must exist before the first import on a fresh clone, yet a parse costs 5-10 s and
must not run on every import.  The approach:

- The manifest lives in ``.tieout/dbt/manifest/`` at the repository root (gitignored), never
  in ``dbt_project/`` (which stays free of ``target/`` and ``logs/``).
- Beside it, ``fingerprint.txt`` records a digest of every file of the dbt project, the dbt
  version and the parse vars.  ``ensure_manifest()`` recomputes the digest (a few ms: the
  project is a few hundred small files) and runs ``dbt parse`` only when it differs.
- ``make`` prepares it after installing (``python -m tieout.transform.manifest``), so imports
  after setup are fast; ``tieout run`` and the import itself call ``ensure_manifest()``, so a
  model added or removed since is picked up without a manual step.
- The parse uses fixed vars of the same shape as every run's (``PARSE_CONFIG``): the manifest
  depends on the project only, never on the snapshot time of a run.
- A file lock serialises concurrent parses (``dagster dev`` loads the code location in
  several processes) and the manifest is replaced atomically, so a reader never sees half.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from importlib import metadata
from pathlib import Path

from tieout.config import ReconciliationConfig, TieoutConfig
from tieout.errors import TieoutError

from .dbt_vars import PROJECT_DIR, dbt_vars_arg
from .invocation import WAREHOUSE_ENV, dbt_executable

MANIFEST_DIR = PROJECT_DIR.parent / ".tieout" / "dbt" / "manifest"
MANIFEST = MANIFEST_DIR / "manifest.json"
FINGERPRINT = MANIFEST_DIR / "fingerprint.txt"
_SKIPPED_DIRS = frozenset({"target", "logs", "dbt_packages"})

# A stand-in configuration for parsing: the vars' shape is what matters to the manifest.
PARSE_CONFIG = TieoutConfig(
    path=MANIFEST_DIR / "tieout.toml", company_name="manifest",
    as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), accounting_timezone="UTC",
    reporting_currency="USD", warehouse=MANIFEST_DIR / "unused.duckdb", reference=None,
    reconciliation=ReconciliationConfig(grace_hours=24, relative_tolerance=Decimal("0.0001"),
                                        materiality=Decimal("1000"), absolute_tolerance={}))


def project_files(project_dir: Path = PROJECT_DIR) -> Iterator[Path]:
    """Every file dbt may read when parsing, in a stable order (build output and dotfiles out)."""
    for root, dirs, files in os.walk(project_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root, name)


def fingerprint(project_dir: Path = PROJECT_DIR) -> str:
    """Digest of the project's files (paths and contents), the dbt version and the parse vars."""
    digest = hashlib.sha256()
    digest.update(f"dbt-core {metadata.version('dbt-core')}\n".encode())
    digest.update(dbt_vars_arg(PARSE_CONFIG).encode())
    for path in project_files(project_dir):
        digest.update(f"\0{path.relative_to(project_dir).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current() -> bool:
    """Whether the manifest exists and was parsed from the project as it is now."""
    try:
        recorded = FINGERPRINT.read_text().strip()
    except OSError:
        return False
    return MANIFEST.is_file() and recorded == fingerprint()


def ensure_manifest() -> Path:
    """The path of an up-to-date ``manifest.json``, running ``dbt parse`` only if needed."""
    if is_current():
        return MANIFEST
    MANIFEST_DIR.mkdir(parents=True, exist_ok=True)
    with _locked(MANIFEST_DIR / ".lock"):
        current = fingerprint()
        if MANIFEST.is_file() and _read(FINGERPRINT) == current:
            return MANIFEST  # another process parsed while this one waited
        parse(MANIFEST_DIR / "parse")
        os.replace(MANIFEST_DIR / "parse" / "manifest.json", MANIFEST)
        _write_atomically(FINGERPRINT, current + "\n")
    return MANIFEST


def parse(target_path: Path) -> None:
    """``dbt parse`` into ``target_path`` (logs there too); one-line error on failure."""
    env = {**os.environ, WAREHOUSE_ENV: str(PARSE_CONFIG.warehouse),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [dbt_executable(), "parse", "--project-dir", str(PROJECT_DIR),
               "--profiles-dir", str(PROJECT_DIR), "--target-path", str(target_path),
               "--log-path", str(target_path), "--vars", dbt_vars_arg(PARSE_CONFIG), "--quiet"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        raise TieoutError(f"dbt parse of {PROJECT_DIR} failed: "
                          f"{' '.join(' '.join(lines[-6:]).split())[:600]}")


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + f".{os.getpid()}")
    partial.write_text(text)
    os.replace(partial, path)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main() -> int:
    """``python -m tieout.transform.manifest``: prepare the manifest (the Makefile's step)."""
    try:
        path = ensure_manifest()
    except TieoutError as exc:
        print(f"tieout: error: {exc}", file=sys.stderr)  # noqa: T201 - a build step's output
        return 1
    print(f"dbt manifest: {path}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
