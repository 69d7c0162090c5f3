"""The console's JSON API routers under ``/api/v1`` (besides the ledger's own ``/auth`` and ``/ledger``)."""

from __future__ import annotations

from . import air, grid, overview, reports, review, targets, water

ROUTERS = (overview.router, air.router, water.router, targets.router, reports.router, grid.router, review.router)
