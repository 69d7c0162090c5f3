"""The console's JSON API routers under ``/api/v1`` (besides the ledger's own ``/auth`` and ``/ledger``)."""

from __future__ import annotations

from . import air, grid, health, overview, reports, review, targets, water

ROUTERS = (health.router, overview.router, air.router, water.router, targets.router, reports.router, grid.router, review.router)
