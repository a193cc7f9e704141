"""Run an extraction: every configured source into the warehouse, recorded in ``ops.runs``,
with its operating metrics in ``ops.run_metrics`` (``tieout.metrics``).

Used by the Dagster assets and by ``tieout run --only extract``; kept free of Dagster so it
can be tested and benchmarked directly.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from tieout.config import OPTIONAL_SOURCES, TieoutConfig
from tieout.errors import TieoutError
from tieout.metrics import HttpRecorder, Metric
from tieout.metrics.extraction import extraction_metrics
from tieout.metrics.store import write_metrics, write_metrics_after_failure
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
def recorded_run(con: duckdb.DuckDBPyConnection, scope: str,
                 parent: str | None = None) -> Iterator[ExtractReport]:
    """An ``ops.runs`` entry around a block: ``succeeded``, or ``failed`` with the one-line
    error, whatever the block raises (the exception still propagates).  ``parent`` names the
    run this extraction is a step of (``tieout.metrics.runs``)."""
    run_id = ops.new_run_id()
    ops.start_run(con, run_id, scope, parent)
    report = ExtractReport(run_id)
    try:
        yield report
    except BaseException as exc:
        ops.finish_run(con, run_id, "failed", " ".join(str(exc).split())[:500])
        raise
    ops.finish_run(con, run_id, "succeeded")


def _configured(cfg: TieoutConfig, source: str) -> bool:
    return source in cfg.sources or (source == "reference" and cfg.reference is not None)


def extract_measured(con: duckdb.DuckDBPyConnection, cfg: TieoutConfig, source: str, *,
                     run_id: str, scope: str, token: str | None = None,
                     days: tuple[dt.date, dt.date] | None = None, full: bool = False,
                     client_options: dict[str, Any] | None = None
                     ) -> tuple[ExtractReport, list[Metric]]:
    """One source's extraction as a step of run ``run_id`` (the Dagster raw assets).

    The step is an ``ops.runs`` row (``scope``, parent ``run_id``) and its operating metrics go
    to ``ops.run_metrics`` (stage ``extract``) however it ends - a failed night's retries and
    errors are exactly what an operator needs to see.  Returns the report and the metrics.
    """
    recorder = HttpRecorder()
    options = {**(client_options or {}), "recorder": recorder}
    report: ExtractReport | None = None
    started = time.perf_counter()

    def measured() -> list[Metric]:
        spent = {source: time.perf_counter() - started} if _configured(cfg, source) else {}
        return extraction_metrics(report, recorder, spent)

    try:
        with recorded_run(con, scope, parent=run_id) as report:
            extract_source(con, cfg, source, run_id=report.run_id, report=report, full=full,
                           days=days, token=token, client_options=options)
    except BaseException:
        write_metrics_after_failure(con, run_id, "extract", measured())
        raise
    metrics = measured()
    write_metrics(con, run_id, "extract", metrics)
    return report, metrics


def run_extraction(con: duckdb.DuckDBPyConnection, cfg: TieoutConfig,
                   sources: list[str] | None = None, *, full: bool = False,
                   tokens: dict[str, str] | None = None,
                   client_options: dict[str, Any] | None = None) -> ExtractReport:
    """Extract the given sources (default: reference data and every configured source).

    ``tokens`` maps source name to its API secret (API-mode sources only);
    ``client_options`` tune the HTTP clients (timeouts, retry limits; tests pass ``sleep``).
    The run's operating metrics are stored under its ``ops.runs`` id, however it ends.
    """
    chosen = sources or ([*(["reference"] if cfg.reference else []), *cfg.sources])
    recorder = HttpRecorder()
    options = {**(client_options or {}), "recorder": recorder}
    spent: dict[str, float] = {}
    with recorded_run(con, "extract:" + ",".join(chosen)) as report:
        try:
            for source in chosen:
                started = time.perf_counter()
                try:
                    extract_source(con, cfg, source, run_id=report.run_id, report=report,
                                   full=full, token=(tokens or {}).get(source),
                                   client_options=options)
                finally:
                    if _configured(cfg, source):
                        spent[source] = time.perf_counter() - started
        except BaseException:
            write_metrics_after_failure(con, report.run_id, "extract",
                                        extraction_metrics(report, recorder, spent))
            raise
        write_metrics(con, report.run_id, "extract", extraction_metrics(report, recorder, spent))
    return report
