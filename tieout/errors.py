"""Errors a user can fix, as opposed to bugs.

Anything raised as ``TieoutError`` is shown as one line naming the problem (the file, field or
option) and exits non-zero; the CLI never shows a traceback for it.
"""

from __future__ import annotations


class TieoutError(Exception):
    """A problem with the user's input, configuration or environment."""

    exit_code = 1


class InputError(TieoutError):
    """A bad option value, file or record the user supplied."""

    exit_code = 2
