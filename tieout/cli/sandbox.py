"""``tieout sandbox``: generate a synthetic company and serve it over loopback HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tieout.errors import InputError

sandbox_app = typer.Typer(help="Generate a synthetic company and serve it like the real APIs.",
                          no_args_is_help=True)


@sandbox_app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the company into.")],
    seed: Annotated[int, typer.Option(help="Random seed; same arguments, same company.")] = 7,
    invoices: Annotated[int, typer.Option(min=10, max=20_000_000,
                                          help="Approximate number of invoices.")] = 10_000,
    rates: Annotated[Path | None, typer.Option(
        help="TOML file with [rates] (rule code = fraction) and [timing] overrides.")] = None,
    clean: Annotated[bool, typer.Option(
        "--clean", help="Inject no discrepancies: the three systems agree.")] = False,
) -> None:
    """Write billing, ERP, revrec, support, usage and reference data plus ground_truth.csv to
    OUT."""
    from seeds.generator import Rates, RatesError, generate_company

    from .output import print_company

    if rates is not None and clean:
        raise InputError("--rates and --clean are mutually exclusive")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    try:
        chosen = Rates.from_file(rates) if rates is not None else None
    except RatesError as exc:
        raise InputError(str(exc)) from None
    summary = generate_company(out, seed=seed, invoices=invoices, rates=chosen, clean=clean)
    print_company(summary)


@sandbox_app.command("serve")
def serve(
    data: Annotated[Path, typer.Option("--data", help="A directory written by 'generate'.")],
    host: Annotated[str, typer.Option(help="Interface to bind; loopback only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 0,
    faults: Annotated[str | None, typer.Option(
        help="Fault plan, e.g. 'billing.invoices:429=0.2,*:slow=0.05,"
             "erp.journalentry:commit_timeout=0.3'.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the fault plan.")] = 0,
) -> None:
    """Serve DATA as the billing, ERP, revrec and support APIs until SIGINT/SIGTERM.

    Tokens come from TIEOUT_BILLING_API_KEY, TIEOUT_ERP_TOKEN and TIEOUT_REVREC_API_KEY, and
    TIEOUT_SUPPORT_TOKEN for the support API (without it the support API refuses every
    request). A company without support/ serves empty support lists.
    """
    from seeds.sandbox.faults import FaultSpecError
    from seeds.sandbox.server import SandboxServer, tokens_from_env

    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise InputError(f"--host {host}: the sandbox only binds loopback addresses")
    if not (data / "billing" / "invoices.parquet").is_file():
        raise InputError(f"--data {data} is not a generated company (no billing/invoices.parquet)")
    try:
        tokens = tokens_from_env()
        server = SandboxServer(data, host=host, port=port, faults=faults, seed=seed,
                               tokens=tokens)
    except FaultSpecError as exc:
        raise InputError(f"--faults: {exc}") from None
    except ValueError as exc:
        raise InputError(str(exc)) from None
    server.start()
    typer.echo(f"sandbox serving {data} at {server.url} (Ctrl-C to stop)", err=False)
    server.serve_forever()
