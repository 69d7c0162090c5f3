"""The one error class of the report builders (the monthly ranking, the annual bulletin, the disclosure)."""

from __future__ import annotations

from ..errors import QingshanError


class ReportError(QingshanError, ValueError):
    """The report cannot be produced: no data for the period, a bad month, an unreadable input file …"""
