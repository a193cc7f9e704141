"""Invoice compare benchmark: tieout against DuckDB, pandas and datacompy (issue 9).

A script entry beside the other benchmarks; the work is in ``benchmarks/compare``.  Usage:
``python benchmarks/bench_invoice_compare.py --rows 10000 100000 1000000 --setup-datacompy``
(``--help`` for the rest).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.compare.run import main

    sys.exit(main())
