"""The dbt project as Dagster sees it: its manifest and the CLI resource that runs it.

Importing this module makes sure the manifest matches the project
(``tieout.transform.manifest``: a digest check of a few ms; ``dbt parse`` only when a model,
macro or test changed since the last parse, or on the first import after a fresh clone
if ``make`` did not prepare it).  The raw assets do not import it, so extraction alone never
loads dbt.
"""

from __future__ import annotations

from functools import cached_property
from importlib import metadata

from dagster_dbt import DbtCliResource, DbtProject
from packaging.version import Version

from tieout.transform.dbt_vars import PROJECT_DIR
from tieout.transform.invocation import dbt_executable
from tieout.transform.manifest import MANIFEST_DIR, ensure_manifest

ensure_manifest()

DBT_PROJECT = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR,
                         target_path=MANIFEST_DIR)


class DbtCli(DbtCliResource):  # type: ignore[misc]
    """dagster-dbt's CLI resource, minus its ``dbt --version`` probe.

    dagster-dbt learns the dbt version by running ``dbt --version``, which also asks PyPI for
    the latest release (tieout makes no outside calls) and costs seconds per run.  The ``dbt``
    this resource runs is the one installed with ``dbt-core``, so the package version is it.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(metadata.version("dbt-core"))


def dbt_resource() -> DbtCli:
    """The ``dbt`` resource every run uses (Definitions and ``tieout run`` alike)."""
    return DbtCli(project_dir=str(PROJECT_DIR), profiles_dir=str(PROJECT_DIR),
                  dbt_executable=dbt_executable())
