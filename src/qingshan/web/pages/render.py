"""Rendering pages: the Jinja2 environment (autoescaped), the context every page gets (signed-in user, CSRF
token, navigation) and charts embedded as Vega-Lite JSON for vega-embed (no external URL in any page)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ... import numbers
from ...ledger.api import Ctx
from ...ledger.models import ROLE_LABELS
from ..security import csrf_token

TEMPLATES = Path(__file__).resolve().parent / "templates"

NAV = (("overview", "/", "总览"), ("air", "/air", "空气"), ("water", "/water", "水环境"), ("ledger", "/ledger", "台账"),
       ("map", "/map", "地图"), ("dispatch", "/dispatch", "调度"),
       ("targets", "/targets", "目标"), ("reports", "/reports", "报告"))


def fmt(v: Any, digits: int = 0, dash: str = numbers.DASH) -> str:
    """The ``fmt`` filter: a number with ``digits`` decimals, a dash for missing values, a text as it is."""
    return numbers.fmt(v, digits, dash=dash, keep_text=True)


def hour_text(iso: str | None) -> str:
    """``2025-03-31T14:00:00`` → ``2025-03-31 14:00`` (the hour-ending clock time, as CNEMC publishes it)."""
    if not iso:
        return "—"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def chart(name: str, spec: dict[str, Any], caption: str | None = None) -> dict[str, Any]:
    """A chart for the page: ``data-chart=name``; the ``$schema`` URL is dropped (vega-embed is told the mode), so
    the page holds no external address."""
    return {"name": name, "spec": {k: v for k, v in spec.items() if k != "$schema"}, "caption": caption}


_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.filters["fmt"] = fmt
_env.filters["hour"] = hour_text
_env.globals["nav"] = NAV
_env.globals["platform"] = False  # pages rendered by the platform process say so (the 导入 link)


def user_context(request: Request, ctx: Ctx | None) -> dict[str, Any]:
    console = request.app.state.console
    if ctx is None or ctx.anonymous:
        return {"signed_in": False, "name": "公众", "role": "public", "role_label": ROLE_LABELS["public"],
                "csrf": ""}
    p = ctx.principal
    return {"signed_in": True, "name": p.name, "role": p.role, "role_label": ROLE_LABELS.get(p.role, p.role),
            "csrf": csrf_token(console.secret, ctx.cookie_token) if ctx.cookie_token else ""}


def render(request: Request, template: str, ctx: Ctx | None, *, active: str = "", status_code: int = 200,
           title: str = "", **values: Any) -> HTMLResponse:
    html = _env.get_template(template).render(request_path=request.url.path, user=user_context(request, ctx),
                                              active=active, title=title,
                                              platform=getattr(request.app.state, "platform", False), **values)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def render_plain(template: str, status_code: int, **values: Any) -> HTMLResponse:
    """A page without request context (error pages raised before a session exists)."""
    user = {"signed_in": False, "name": "公众", "role": "public", "role_label": ROLE_LABELS["public"], "csrf": ""}
    html = _env.get_template(template).render(request_path="", user=user, active="", **values)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
