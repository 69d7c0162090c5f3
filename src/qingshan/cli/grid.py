"""``qingshan grid …``: grid micro-sensors (网格化监测微站) — list, calibrate against reference stations, drift
(docs/networks.md)."""

from __future__ import annotations

import json
from datetime import date
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from .context import open_workspace
from .output import console, err

grid_app = typer.Typer(help="网格化监测微站：列表、对参比站校准、漂移检查", no_args_is_help=True)

EPOCH = date(1970, 1, 1)


@grid_app.callback()
def _grid() -> None:
    """网格化监测微站：列表、对参比站校准、漂移检查。"""


def _day(text: str | None, name: str) -> int | None:
    """Day index of a YYYY-MM-DD option (None when absent); exits with a Chinese message when invalid."""
    if text is None:
        return None
    try:
        return (date.fromisoformat(text) - EPOCH).days
    except ValueError:
        err.print(f"[red]{name} 日期无效：[/]{escape(text)}（应为 YYYY-MM-DD）")
        raise typer.Exit(2)


def _hours(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """The inclusive hour range (``hi``) of the days ``start … end`` (01:00 of the first to 24:00 of the last)."""
    d0, d1 = _day(start, "--from"), _day(end, "--to")
    if d0 is not None and d1 is not None and d1 < d0:
        err.print(f"[red]--to {end} 早于 --from {start}[/]")
        raise typer.Exit(2)
    return (d0 * 24 + 1 if d0 is not None else None), ((d1 + 1) * 24 if d1 is not None else None)


def _fmt(v, digits: int = 3) -> str:  # noqa: ANN001
    return "—" if v is None or v != v else f"{v:.{digits}g}" if isinstance(v, float) else str(v)


@grid_app.command("list")
def list_sensors(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """各网格微站与扬尘监测点：网络、最近参比站及距离、当前校准版本。"""
    from ..web.data.grid import sensor_rows

    with open_workspace(ctx) as ws:
        rows = sensor_rows(ws.con)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        console.print("站点表中没有网格微站或扬尘监测点（站点类别：网格微站、工地扬尘）。")
        return
    t = Table(title=f"网格微站与扬尘监测点（{len(rows)} 个）")
    for col in ("编码", "名称", "网络", "最近参比站", "距离 km", "校准", "R²", "漂移"):
        t.add_column(col)
    for r in rows:
        c = r["calibration"]
        cal = f"v{c['version']} {c['model']}" if c else "未校准"
        t.add_row(escape(r["code"]), escape(r["name"] or ""), r["network"], r["reference"] or "—",
                  _fmt(r["distance_km"]), cal, _fmt(c["r2"]) if c else "—", "是" if r["drift"] else "否")
    console.print(t)


@grid_app.command("calibrate")
def calibrate(
    ctx: typer.Context,
    model: str = typer.Option("linear", "--model", help="linear（ref = a·raw + b）或 humidity（ref = a·raw + b·RH + c）"),
    start: Optional[str] = typer.Option(None, "--from", help="同期比对起始日 YYYY-MM-DD（缺省：全部数据）"),
    end: Optional[str] = typer.Option(None, "--to", help="同期比对结束日 YYYY-MM-DD（含）"),
    sensor: Optional[list[str]] = typer.Option(None, "--sensor", help="只校准该微站（可重复）；缺省为全部网格微站"),
    pollutant: str = typer.Option("pm25", "--pollutant", help="pm25 或 pm10"),
) -> None:
    """对最近的参比站（国控/省控/市控）拟合校准系数，每次拟合存为新版本；不合格的拟合记为拒绝并说明原因。"""
    from ..evaluate.calibration import CalibrationError
    from ..evaluate.calibration import calibrate as run

    if pollutant not in ("pm25", "pm10"):
        err.print(f"[red]污染物应为 pm25 或 pm10，实际为 {escape(pollutant)}[/]")
        raise typer.Exit(2)
    first, last = _hours(start, end)
    with open_workspace(ctx) as ws:
        try:
            outcomes = run(ws.con, model=model, pollutant=pollutant, first_hi=first, last_hi=last, sensors=sensor,
                           created_by="命令行")
        except CalibrationError as e:
            err.print(f"[red]{escape(str(e))}[/]")
            raise typer.Exit(2)
    if not outcomes:
        console.print("没有需要校准的网格微站。")
        return
    t = Table(title=f"网格微站校准（{model}，{pollutant}）")
    for col in ("微站", "版本", "结果", "参比站", "距离 km", "系数", "n", "R²", "RMSE", "原因"):
        t.add_column(col)
    for o in outcomes:
        coef = "、".join(f"{k}={v:.4g}" for k, v in o.fit.coefficients.items()) if o.fit else "—"
        t.add_row(o.sensor, str(o.version), "通过" if o.status == "accepted" else "拒绝", o.reference or "—",
                  _fmt(o.distance_km), coef, str(o.fit.n) if o.fit else "0", _fmt(o.fit.r2) if o.fit else "—",
                  _fmt(o.fit.rmse) if o.fit else "—", escape(o.reason or ""))
    console.print(t)
    ok = sum(o.status == "accepted" for o in outcomes)
    console.print(f"通过 {ok} 个，拒绝 {len(outcomes) - ok} 个。")


@grid_app.command("drift")
def drift(
    ctx: typer.Context,
    since: Optional[str] = typer.Option(None, "--since", help="检查自该日 YYYY-MM-DD 起的数据（缺省：全部）"),
    pollutant: str = typer.Option("pm25", "--pollutant", help="pm25 或 pm10"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """已校准微站与邻近站点（参比站及半径内其他微站）的偏离：72 小时滑动中位差超过阈值即标记漂移。"""
    from ..evaluate.drift import drift_flags

    d = _day(since, "--since")
    with open_workspace(ctx) as ws:
        checks = drift_flags(ws.con, d * 24 + 1 if d is not None else None, pollutant)
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in checks], ensure_ascii=False, indent=1))
        return
    if not checks:
        console.print("没有已校准的网格微站可检查。")
        return
    t = Table(title=f"网格微站漂移检查（{pollutant}）")
    for col in ("微站", "漂移", "邻近站点", "比对小时", "中位差", "邻近水平", "说明"):
        t.add_column(col)
    for c in checks:
        t.add_row(c.sensor, "[red]是[/]" if c.flagged else "否", "、".join(c.neighbours) or "—",
                  str(c.hours_compared), _fmt(c.median_diff), _fmt(c.neighbour_level), escape(c.reason))
    console.print(t)
    n = sum(c.flagged for c in checks)
    if n:
        console.print(f"[red]{n} 个微站疑似漂移[/]")
