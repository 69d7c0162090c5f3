"""Server-rendered pages of the console (Jinja2 templates in ``templates/``). Each page handler calls the same
data function as the matching ``/api/v1`` endpoint (:mod:`qingshan.web.data`) and renders its dict; charts are
``<figure data-chart="name">`` containers holding a Vega-Lite spec that ``/static/console.js`` draws with
vega-embed from the locally served bundle."""

from __future__ import annotations

from . import (
           air,
           alarms,
           auth,
           compare,
           dispatch,
           exports,
           ledger,
           map,
           overview,
           reports,
           review,
           screen,
           targets,
           water,
)

ROUTERS = (overview.router, alarms.router, air.router, water.router, ledger.router, dispatch.router, targets.router,
           reports.router, review.router, exports.router, auth.router, map.router, screen.router, compare.router)
