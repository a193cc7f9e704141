"""Billing-vs-ERP invoice compare, tieout against its peers on the same Parquet files.

``data`` plants every kind of discrepancy with an exact ground truth, ``peers`` answers the
question once per peer in its own process, ``run`` is the command line that runs them side
by side.  This package and ``peers`` import only the standard library at module level, so the
datacompy peers can run under their own interpreter (see ``run``).
"""
