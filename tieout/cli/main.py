"""The ``tieout`` command: one entry point, one place where errors become one line.

``main(argv) -> int`` runs the Typer app without Click's standalone mode so that usage
errors, user errors and unexpected failures are all turned into a single ``tieout: error:``
line and an exit code here, and tests can call it directly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

try:  # Typer vendors Click as typer._click; its parser raises these exception classes.
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - older Typer used Click itself
    from click import exceptions as click_exc  # type: ignore[no-redef]

from tieout.errors import TieoutError
from tieout.rules import RULES

from .close import close
from .demo import demo
from .docs import docs
from .exceptions import exceptions_app
from .journal import journal_app
from .query import query
from .report import report
from .run import run as run_command
from .sandbox import sandbox_app
from .status import status

app = typer.Typer(
    name="tieout",
    help="Nightly tie-out of billing, ERP and revenue recognition, with usage journals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(journal_app, name="journal")
app.command("demo")(demo)
app.command("run")(run_command)
app.command("close")(close)
app.command("query")(query)
app.command("report")(report)
app.command("docs")(docs)
app.command("status")(status)


@app.command("rules")
def rules() -> None:
    """List the reconciliation rule codes with severity and natural-key shape."""
    from rich.console import Console
    from rich.table import Table

    table = Table("rule", "severity", "natural key", "description")
    for rule in RULES.values():
        table.add_row(rule.code, rule.severity.value, rule.key, rule.description)
    Console().print(table)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of raising."""
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = command.main(args=args, prog_name="tieout", standalone_mode=False)
    except click_exc.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else "")
        return 0
    except click_exc.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "tieout"
        typer.echo(f"tieout: error: {_one_line(exc.format_message())} "
                   f"(see '{where} --help')", err=True)
        return 2
    except typer.Abort:
        typer.echo("tieout: aborted", err=True)
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except TieoutError as exc:
        typer.echo(f"tieout: error: {_one_line(str(exc))}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("tieout: interrupted", err=True)
        return 130
    except Exception as exc:  # a bug: still one line, the traceback only on request
        if os.environ.get("TIEOUT_DEBUG"):
            raise
        typer.echo(f"tieout: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
                   "(set TIEOUT_DEBUG=1 for the traceback)", err=True)
        return 70
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
