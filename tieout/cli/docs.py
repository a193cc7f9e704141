"""``tieout docs``: write the dbt docs site of the marts and print where it is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tieout.config import load_config

from .output import console


def docs(
    config: Annotated[Path, typer.Option("--config", help="The tieout.toml of the run.")] = Path(
        "tieout.toml"),
) -> None:
    """Generate the dbt docs of the marts (one self-contained HTML file) from the warehouse."""
    from tieout.transform.docs import generate_docs

    cfg = load_config(config)
    with console.status("dbt docs generate"):
        page = generate_docs(cfg)
    typer.echo(str(page))  # a path on one line, never wrapped: scripts read it
