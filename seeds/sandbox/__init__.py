"""Sandbox HTTP server imitating the billing (Stripe), ERP (NetSuite) and revrec APIs.

Serves a generated company directory over loopback with seeded fault injection, so the
connectors, the demo and the benchmarks run without the internet (DESIGN §3.1). See
``server.SandboxServer`` for the entry point and ``faults`` for the ``--faults`` grammar.
"""

from seeds.sandbox.auth import SandboxTokens, tokens_from_env
from seeds.sandbox.faults import FaultEvent, FaultSpecError, parse_fault_spec
from seeds.sandbox.server import SandboxServer
from seeds.sandbox.store import DataDirError

__all__ = [
    "DataDirError",
    "FaultEvent",
    "FaultSpecError",
    "SandboxServer",
    "SandboxTokens",
    "parse_fault_spec",
    "tokens_from_env",
]
