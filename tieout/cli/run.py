"""``tieout run``: materialize the pipeline in-process through Dagster, with a summary.

The CLI and the Dagster UI run the same assets; here the instance is Dagster's local storage
(``DAGSTER_HOME``, default ``.tieout/dagster`` beside the configuration) so runs, events and
asset history are visible in the UI afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tieout.config import load_config
from tieout.errors import TieoutError

from .output import console

STAGES = ("extract",)


def _instance_home(config: Path) -> Path:
    home = os.environ.get("DAGSTER_HOME")
    path = Path(home) if home else config.resolve().parent / ".tieout" / "dagster"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(
    config: Annotated[Path, typer.Option("--config", help="The tieout.toml to run with.")] = Path(
        "tieout.toml"),
    only: Annotated[str | None, typer.Option(
        help="Run one stage only: extract.")] = None,
) -> None:
    """Run the pipeline (today: extraction of every configured source) and summarise it."""
    import dagster as dg

    from assets import RAW_ASSETS
    from pipelines.jobs import EXTRACT_GROUPS
    from pipelines.resources import SourceSecrets, TieoutSettings

    if only is not None and only not in STAGES:
        raise TieoutError(f"--only {only}: unknown stage; choose from {', '.join(STAGES)}")
    cfg = load_config(config)  # fail fast, with the file's own error message
    os.environ.setdefault("DAGSTER_HOME", str(_instance_home(config)))
    selection = dg.AssetSelection.groups(*EXTRACT_GROUPS)
    with console.status("extracting"):
        result = dg.materialize(
            [a for a in RAW_ASSETS if a.partitions_def is None],
            instance=dg.DagsterInstance.get(),
            resources={"tieout": TieoutSettings(config_path=str(config)),
                       "secrets": SourceSecrets()},
            selection=selection, raise_on_error=False,
        )
    if not result.success:
        failure = next((e for e in result.all_events if e.is_failure), None)
        message = failure.message if failure and failure.message else "see the Dagster run"
        raise TieoutError(f"run {result.run_id} failed: {' '.join(message.split())[:400]}")
    table = Table("table", "received", "landed", "quarantined", "rows now",
                  title=f"Extracted into {cfg.warehouse}")
    for event in result.get_asset_materialization_events():
        key = event.asset_key
        assert key is not None
        md = {k: v.value for k, v in event.materialization.metadata.items()}
        table.add_row("/".join(key.path[1:]), f"{md.get('received', 0):,}",
                      f"{md.get('landed', 0):,}", f"{md.get('quarantined', 0):,}",
                      f"{md.get('rows_in_table', 0):,}")
    console.print(table)
    console.print(f"Dagster run {result.run_id} (instance {os.environ['DAGSTER_HOME']})")
