"""``tieout journal``: post usage journals, see the posting ledger, replay a dead letter.

``post`` plans the closed windows (all of them, or the UTC days given) and posts what is due;
``list`` and ``show`` read the ledger in ``ops``; ``replay`` gives a dead-lettered batch a
fresh attempt budget and posts it - still by externalId, so a replay never posts twice.
Posting exits non-zero when the run left a batch failed or dead-lettered, so an unattended
schedule notices.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tieout.config import TieoutConfig, load_config
from tieout.errors import InputError, TieoutError

from .output import console

journal_app = typer.Typer(help="Usage journal postings to the ERP.", no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option("--config", help="The tieout.toml to use.")]
_ERROR_WIDTH = 80
_TABLE_WIDTH = 200  # narrower terminals scroll sideways rather than fold every column


def _day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r}: not a date (YYYY-MM-DD)") from None


def _open(cfg: TieoutConfig):  # type: ignore[no-untyped-def]
    from tieout.warehouse.connection import open_warehouse

    if not cfg.warehouse.is_file():
        raise TieoutError(f"warehouse {cfg.warehouse} does not exist: run the pipeline first "
                          f"(tieout run --config {cfg.path})")
    return open_warehouse(cfg.warehouse, cfg.warehouse_memory_limit)


def _report_table(run: object) -> Table:
    data = run.as_dict()  # type: ignore[attr-defined]
    table = Table("planned", "adjustments", "posted", "confirmed", "failed", "dead-lettered",
                  "rolled to next period", title=f"Journal posting run {data['run_id']}")
    table.add_row(*(str(data[k]) for k in ("planned", "adjustments", "posted", "confirmed",
                                          "failed", "dead_lettered", "rolled_forward")))
    return table


def _fail_if_unposted(run: object) -> None:
    report = run.report  # type: ignore[attr-defined]
    if report.failed or report.dead_lettered:
        paused = ("; posting paused after repeated failures, the rest stays pending for the "
                  "next run" if report.paused else "")
        raise TieoutError(f"{report.failed} batch(es) failed and {report.dead_lettered} were "
                          f"dead-lettered in this run{paused}: `tieout journal list --status "
                          "failed` / `--status dead_letter` shows why")


@journal_app.command("post")
def post(
    config: ConfigOption = Path("tieout.toml"),
    first: Annotated[str | None, typer.Option(
        "--from", help="First UTC day of windows to plan (default: all closed windows).")] = None,
    last: Annotated[str | None, typer.Option(
        "--to", help="Last UTC day of windows to plan (default: --from, or all).")] = None,
) -> None:
    """Plan new batch versions for closed usage windows and post every batch that is due."""
    from tieout.journal.service import (
        all_scope,
        day_scope,
        erp_token,
        journal_api,
        post_usage_journals,
    )

    cfg = load_config(config)
    start, end = _day(first, "--from"), _day(last, "--to")
    if end is not None and start is None:
        raise InputError("--to needs --from")
    scope = all_scope(cfg) if start is None else day_scope(cfg, start, end or start)
    if scope.end <= scope.start:
        raise InputError("--to is before --from")
    api = journal_api(cfg, erp_token(cfg))
    con = _open(cfg)
    try:
        run = post_usage_journals(con, cfg, api, scope)
    finally:
        con.close()
        api.close()
    console.print(_report_table(run))
    _fail_if_unposted(run)


@journal_app.command("list")
def list_batches(
    config: ConfigOption = Path("tieout.toml"),
    status: Annotated[str | None, typer.Option(
        help="Only this status: pending, posted, failed or dead_letter.")] = None,
) -> None:
    """The posting ledger: one row per batch version."""
    from tieout.journal import ledger

    cfg = load_config(config)
    con = _open(cfg)
    try:
        batches = ledger.list_batches(con, status)
    finally:
        con.close()
    table = Table("external id", "kind", "window (UTC)", "amount", "period", "status",
                  "attempts", "ERP id", "last error", title=f"Journal batches ({len(batches)})")
    for b in batches:
        period = b.posting_period
        if b.accounting_period and period != b.accounting_period:
            period = f"{period} (from {b.accounting_period})"
        error = (b.last_error or "")[:_ERROR_WIDTH]
        table.add_row(b.external_id, b.kind or "", f"{b.window_start:%Y-%m-%d %H:%M}",
                      f"{b.amount} {b.currency}", period, b.status, str(b.attempts or 0),
                      str(b.erp_transaction_id or ""), error)
    Console(file=sys.stdout, width=max(console.width, _TABLE_WIDTH)).print(table)


@journal_app.command("show")
def show(
    batch: Annotated[str, typer.Argument(help="A batch id or an external id.")],
    config: ConfigOption = Path("tieout.toml"),
) -> None:
    """A batch's versions with their lines and every attempt."""
    from tieout.journal import ledger

    cfg = load_config(config)
    con = _open(cfg)
    try:
        versions = ledger.find(con, batch)
        if not versions:
            raise InputError(f"no journal batch {batch!r} in the ledger")
        for version in versions:
            console.print(f"[bold]{version.external_id}[/] {version.kind} {version.status}, "
                          f"period {version.posting_period}, memo: {version.memo or '-'}")
            lines = Table("line", "account", "product", "debit", "credit", "quantity",
                          "billable", "events")
            for line in ledger.lines(con, version):
                from tieout.money import to_major

                amount = to_major(abs(line.amount_minor), version.currency)
                lines.add_row(str(line.line_number), line.account_number, line.product_id,
                              str(amount) if line.amount_minor > 0 else "",
                              str(amount) if line.amount_minor < 0 else "",
                              str(line.quantity), str(line.billable_quantity),
                              str(line.event_count))
            console.print(lines)
            tries = Table("attempt", "action", "started", "HTTP", "outcome", "error")
            for number, action, started, _, status, outcome, error in ledger.attempts(
                    con, version):
                tries.add_row(str(number), str(action), f"{started:%Y-%m-%d %H:%M:%S}",
                              str(status or ""), str(outcome), str(error or ""))
            console.print(tries)
    finally:
        con.close()


@journal_app.command("replay")
def replay(
    batch: Annotated[str, typer.Argument(help="The dead-lettered batch id or external id.")],
    config: ConfigOption = Path("tieout.toml"),
) -> None:
    """Re-attempt a dead-lettered batch (idempotent: it is looked up before any new POST)."""
    from tieout.journal.service import (
        dead_letters,
        erp_token,
        journal_api,
        replay_dead_letter,
    )

    cfg = load_config(config)
    con = _open(cfg)
    try:
        dead_letters(con, batch)  # a wrong id or status fails before anything else
        api = journal_api(cfg, erp_token(cfg))
        try:
            run = replay_dead_letter(con, cfg, api, batch)
        finally:
            api.close()
    finally:
        con.close()
    console.print(_report_table(run))
    _fail_if_unposted(run)
