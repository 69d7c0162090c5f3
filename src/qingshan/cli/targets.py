"""``qingshan targets …``: annual targets against the year to date (wired into the main CLI as ``targets``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from .context import open_workspace
from .output import console, err

if TYPE_CHECKING:
    from ..targets.config import TargetConfig

targets_app = typer.Typer(help="年度目标：年初至今进度与剩余时段须达到的水平", no_args_is_help=True)


@targets_app.callback()
def _targets() -> None:
    """年度目标：年初至今进度与剩余时段须达到的水平。"""


_STATUS_STYLE = {"on_track": "green", "at_risk": "yellow", "missed": "red", "no_data": "dim"}


@targets_app.command("status")
def status(
    ctx: typer.Context,
    city: str = typer.Option(..., "--city", help="城市名称（与站点表中的城市一致，如 常州市）"),
    year: int = typer.Option(..., "--year", help="目标年度，如 2023"),
    as_of: str = typer.Option(..., "--as-of", help="截至日期 YYYY-MM-DD（含当日）"),
    config: Path | None = typer.Option(None, "--config", help="目标 YAML 文件（默认使用内置的该城市该年度目标）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """各目标的年初至今数值、数据覆盖率、状态（正常/有风险/未达标）与剩余时段须达到的水平。"""
    from ..targets.config import TargetConfigError, find_config, load_config
    from ..targets.evaluate import target_status

    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        err.print(f"[red]截至日期无效：[/]{as_of}（应为 YYYY-MM-DD）")
        raise typer.Exit(2)
    if day.year != year:
        err.print(f"[red]截至日期 {day} 不在 {year} 年内[/]")
        raise typer.Exit(2)
    try:
        cfg = load_config(config) if config else find_config(city, year)
    except TargetConfigError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(2)
    if cfg.year != year:
        err.print(f"[red]目标文件 {cfg.path} 的年度为 {cfg.year}，与 --year {year} 不符[/]")
        raise typer.Exit(2)
    with open_workspace(ctx) as ws:
        table = target_status(ws.con, cfg, city, day)
    if as_json:
        records = json.loads(table.to_json(orient="records", force_ascii=False))
        out = {"city": city, "year": year, "as_of": day.isoformat(), "config": {"city": cfg.city, "version": cfg.version,
               "source": cfg.source, "path": cfg.path}, "targets": records}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    print_status(table, cfg, day, city)


def print_status(table, cfg: TargetConfig, day: date, city: str | None = None) -> None:  # noqa: ANN001
    """The targets table on the terminal (also used by ``qingshan demo``)."""
    t = Table(title=f"{city or cfg.city} {cfg.year} 年度目标进度（截至 {day}；目标版本 {cfg.version}）")
    for col in ("指标", "目标", "年初至今", "覆盖率", "状态", "剩余时段须达到"):
        t.add_column(col, overflow="fold")
    for r in table.itertuples():
        ytd = "—" if r.ytd_value is None or r.ytd_value != r.ytd_value else f"{r.ytd_value:g}"
        cov = "—" if r.coverage is None or r.coverage != r.coverage else f"{r.coverage:g}%（{r.n}/{r.expected}）"
        style = _STATUS_STYLE.get(r.status, "")
        t.add_row(f"{r.name}" + (f"（{r.level}）" if isinstance(r.level, str) and r.level not in r.name else ""), r.target, ytd, cov,
                  f"[{style}]{r.status_text}[/]", r.required_text)
    console.print(t)
    console.print("注：年均值与比率按 GB/T 8170 修约后与目标比较；假定剩余各日均为有效天。")
