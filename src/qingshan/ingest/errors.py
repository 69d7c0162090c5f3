"""The error of a file that cannot be imported at all (its own module so that every ingest module can raise it)."""

from __future__ import annotations

from ..errors import QingshanError


class IngestError(QingshanError, ValueError):
    """A file that cannot be imported at all (wrong format, unknown unit …). The message is for users."""

