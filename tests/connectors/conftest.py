"""Fixtures for the connector tests: one generated company, sandbox servers, a scripted stub.

The 500-invoice company is generated once per session. The fault-free sandbox is shared
(read-only); servers with faults are private because ``mutate`` changes their data. Invoices
carry at most three lines, so the sandbox embeds only one: every multi-line invoice makes the
connector follow ``/v1/invoices/<id>/lines``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seeds.generator import generate_company
from seeds.sandbox import SandboxServer
from tests.connectors.helpers import EMBED, TOKENS, Reply, StubServer


@pytest.fixture(scope="session")
def company_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("company500")
    generate_company(root, seed=7, invoices=500)
    return root


@pytest.fixture(scope="session")
def server(company_dir: Path) -> Iterator[SandboxServer]:
    """The fault-free sandbox; tests must not post to it."""
    with SandboxServer(company_dir, tokens=TOKENS, embed_lines=EMBED) as sandbox:
        yield sandbox


@pytest.fixture
def make_server(company_dir: Path) -> Iterator[Any]:
    """Private servers (faults, mutations); all stopped at teardown."""
    servers: list[SandboxServer] = []

    def make(**kwargs: Any) -> SandboxServer:
        kwargs.setdefault("tokens", TOKENS)
        kwargs.setdefault("embed_lines", EMBED)
        sandbox = SandboxServer(kwargs.pop("data_dir", company_dir), **kwargs)
        sandbox.start()
        servers.append(sandbox)
        return sandbox

    yield make
    for sandbox in servers:
        sandbox.stop()


@pytest.fixture
def stub() -> Iterator[Any]:
    stubs: list[StubServer] = []

    def make(*script: Reply) -> StubServer:
        server = StubServer(list(script) or [Reply()])
        stubs.append(server)
        return server

    yield make
    for server in stubs:
        server.stop()
