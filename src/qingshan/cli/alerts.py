"""``qingshan alerts …``: the alarm centre on the command line; for now the cause note 初步原因分析
(``qingshan alerts explain``, docs/alerts.md)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from .context import open_workspace
from .output import console, err

alerts_app = typer.Typer(help="报警中心：初步原因分析", no_args_is_help=True)


@alerts_app.callback()
def _alerts() -> None:
    """报警中心：初步原因分析。"""


@alerts_app.command("explain")
def explain_cmd(
    ctx: typer.Context,
    station: str = typer.Option(..., "--station", help="站点编码（站点表 code）"),
    at: str = typer.Option(..., "--at", help="小时（北京时间，小时结束时刻）YYYY-MM-DD HH:00"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """某站点某小时的初步原因分析：区域或局地、污染特征、气象与上风向、可疑污染源，附证据与置信度。"""
    from ..alerts.explain import ExplainError, explain, parse_hour

    try:
        t = parse_hour(at)
        with open_workspace(ctx) as ws:
            note = explain(ws.con, station, t)
    except ExplainError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(2)
    if as_json:
        typer.echo(note.to_json())
        return
    console.print(escape(note.paragraph))
    causes = Table(title="原因排序")
    for col in ("原因", "得分", "依据"):
        causes.add_column(col, overflow="fold")
    for s in note.causes:
        causes.add_row(s.name, f"{s.score:.2f}", escape("；".join(s.reasons)))
    console.print(causes)
    ev = Table(title="证据")
    for col in ("项目", "数值", "单位"):
        ev.add_column(col, overflow="fold")
    for r in note.evidence:
        v = r["value"]
        ev.add_row(r["item"], escape(", ".join("—" if x is None else str(x) for x in v) if isinstance(v, list) else str(v)),
                   r["unit"])
    console.print(ev)
    if note.candidates:
        src = Table(title="上风向可疑源")
        for col in ("类型", "名称", "因子", "距离 km", "方位 °", "近3时均值", "较此前", "限值倍数"):
            src.add_column(col, overflow="fold")
        for c in note.candidates:
            src.add_row(c.kind, escape(c.name), c.factor_zh, f"{c.distance_km:.1f}", f"{c.bearing:.0f}", f"{c.recent:.1f}",
                        f"×{c.rise:.1f}", "—" if c.exceed is None else f"{c.exceed:.1f}")
        console.print(src)
