"""Run an extraction: every configured source into the warehouse, recorded in ``ops.runs``.

Used by the Dagster assets and by ``tieout run --only extract``; kept free of Dagster so it
can be tested and benchmarked directly.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from tieout.config import OPTIONAL_SOURCES, TieoutConfig
from tieout.errors import TieoutError
from tieout.warehouse import ops

from .api import api_units
from .plan import describe, file_units, reference_units, usage_units
from .runner import ExtractReport, run_units
from .units import Unit

log = logging.getLogger("tieout.extract")


def extract_source(con: duckdb.DuckDBPyConnection, cfg: TieoutConfig, source: str, *,
                   run_id: str, report: ExtractReport, full: bool = False,
                   days: tuple[dt.date, dt.date] | None = None, token: str | None = None,
                   client_options: dict[str, Any] | None = None) -> ExtractReport:
    """Land one configured source (``days``, ``[first, end)``, limits usage to those daily
    partitions).  An optional source (``OPTIONAL_SOURCES``) that is not configured lands
    nothing and is not an error.

    ``token`` is the API secret of an API-mode source, resolved by the caller from the
    environment variable the configuration names; it is passed on, never stored or logged.
    """
    if source == "reference":
        if cfg.reference is None:
            raise TieoutError(f"{cfg.path}: reference.path is not configured")
        return run_units(con, reference_units(cfg.reference), run_id=run_id,
                         source_label=f"files:{cfg.reference}", report=report)
    src = cfg.sources.get(source)
    if src is None and source in OPTIONAL_SOURCES:  # nothing to land: its tables stay empty
        log.info("%s: not configured in %s; raw tables left as they are", source, cfg.path)
        return report
    if src is None:
        raise TieoutError(f"{cfg.path}: sources.{source} is not configured")
    label = describe(src)
    units: Iterable[Unit]
    if source == "usage":
        assert src.path is not None
        units = usage_units(con, src.path, days)
    elif src.mode == "files":
        assert src.path is not None
        units = file_units(source, src.path)
    else:
        if token is None:
            raise TieoutError(f"{source}: API mode needs the token in ${src.token_env}")
        units = api_units(con, src, token, full=full, **(client_options or {}))
    return run_units(con, units, run_id=run_id, source_label=label, report=report)


@contextmanager
def recorded_run(con: duckdb.DuckDBPyConnection, scope: str) -> Iterator[ExtractReport]:
    """An ``ops.runs`` entry around a block: ``succeeded``, or ``failed`` with the one-line
    error, whatever the block raises (the exception still propagates)."""
    run_id = ops.new_run_id()
    ops.start_run(con, run_id, scope)
    report = ExtractReport(run_id)
    try:
        yield report
    except BaseException as exc:
        ops.finish_run(con, run_id, "failed", " ".join(str(exc).split())[:500])
        raise
    ops.finish_run(con, run_id, "succeeded")


def run_extraction(con: duckdb.DuckDBPyConnection, cfg: TieoutConfig,
                   sources: list[str] | None = None, *, full: bool = False,
                   tokens: dict[str, str] | None = None,
                   client_options: dict[str, Any] | None = None) -> ExtractReport:
    """Extract the given sources (default: reference data and every configured source).

    ``tokens`` maps source name to its API secret (API-mode sources only);
    ``client_options`` tune the HTTP clients (timeouts, retry limits; tests pass ``sleep``).
    """
    chosen = sources or ([*(["reference"] if cfg.reference else []), *cfg.sources])
    with recorded_run(con, "extract:" + ",".join(chosen)) as report:
        for source in chosen:
            extract_source(con, cfg, source, run_id=report.run_id, report=report, full=full,
                           token=(tokens or {}).get(source), client_options=client_options)
    return report
