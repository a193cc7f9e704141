"""``python -m tieout`` runs the same CLI as the ``tieout`` console script."""

from tieout.cli.main import run

run()
