"""The common base of the errors qingshan raises on purpose.

Every error meant for a person (bad input file, bad parameter, missing font, conflicting ledger edit …) derives
from :class:`QingshanError` and carries a one-line Chinese message; the command line prints that line and exits
with 2 (:mod:`qingshan.cli_errors`), the web layer answers 4xx with it. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class QingshanError(Exception):
    """An error with a message for people (Chinese, one line), raised on purpose."""
