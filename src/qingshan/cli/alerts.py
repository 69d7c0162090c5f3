"""``qingshan alerts …``: the alarm centre on the command line (docs/alerts.md): run the alarm rules, list the
alarms, move them through their workflow, and the cause note 初步原因分析 (``qingshan alerts explain``)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from .context import open_workspace
from .output import console, err

alerts_app = typer.Typer(help="报警中心：报警规则、报警列表与处置、初步原因分析", no_args_is_help=True)


@alerts_app.callback()
def _alerts() -> None:
    """报警中心：报警规则、报警列表与处置、初步原因分析。"""


def _hour_label(text: str | None, con) -> int:
    """The hour label of ``--until`` (end of the hour, Beijing time), or the store's latest hour."""
    from ..alerts.explain import ExplainError, parse_hour
    from ..store.read import hour_range

    if text is None:
        last = hour_range(con)[1]
        if last is None:
            raise ExplainError("测量库中没有小时数据")
        return int(last)
    from datetime import datetime, timedelta

    return int((parse_hour(text) - datetime(1970, 1, 1)) // timedelta(hours=1))


@alerts_app.command("run")
def run_cmd(
    ctx: typer.Context,
    until: str | None = typer.Option(None, "--until", help="窗口末小时（小时结束时刻）YYYY-MM-DD HH:00；缺省为测量库最新小时"),
    hours: int = typer.Option(24, "--hours", min=1, max=24 * 31, help="检测窗口小时数"),
) -> None:
    """按报警规则检测最近若干小时，合并为报警事件并写入报警表（重复运行不重复报警）。"""
    from ..alerts.config import AlarmRuleError
    from ..alerts.explain import ExplainError
    from ..alerts.run import run_alarm_rules
    from .context import workspace_path

    try:
        with open_workspace(ctx) as ws:
            last = _hour_label(until, ws.con)
            res = run_alarm_rules(ws.con, last, hours, workspace=workspace_path(ctx), actor=_actor())
    except (AlarmRuleError, ExplainError) as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(2)
    console.print(f"报警规则 {res.rules_version}：检测 {_hour_text(res.window[0])} – {_hour_text(res.window[1])}，"
                  f"命中 {res.hits} 个站点小时，{res.episodes} 起；新增 {res.new}，延续 {res.extended}，未变 {res.unchanged}")


def _hour_text(hi: int) -> str:
    from datetime import datetime, timedelta

    return f"{datetime(1970, 1, 1) + timedelta(hours=int(hi)):%Y-%m-%d %H:%M}"


def _actor() -> str:
    import getpass

    try:
        return f"命令行:{getpass.getuser()}"
    except Exception:  # no user name in a bare container
        return "命令行"


@alerts_app.command("list")
def list_cmd(
    ctx: typer.Context,
    state: list[str] = typer.Option(None, "--state", help="状态（可多次）：new acknowledged dispatched closed false_alarm"),
    level: int = typer.Option(1, "--level", min=1, max=4, help="最低级别 1 提示 … 4 严重"),
    station: str | None = typer.Option(None, "--station", help="只看某站点/设备"),
    limit: int = typer.Option(50, "--limit", min=1, max=10000, help="最多列出条数"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """报警列表（最新在前）。"""
    import json

    from ..alerts.config import LEVELS, load_rules
    from ..store.alarms import STATES, list_alarms
    from .context import workspace_path

    bad = [s for s in (state or []) if s not in STATES]
    if bad:
        err.print(f"[red]未知状态：{escape('、'.join(bad))}；可选：{'、'.join(STATES)}[/]")
        raise typer.Exit(2)
    with open_workspace(ctx) as ws:
        rows = list_alarms(ws.con, states=state or None, min_level=level, subject=station, limit=limit)
    titles = {r.name: r.title for r in load_rules(workspace_path(ctx)).rules}
    if as_json:
        out = [] if rows.empty else json.loads(rows.to_json(orient="records", force_ascii=False, date_format="iso"))
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    t = Table(title=f"报警（{len(rows)} 起）")
    for col in ("编号", "级别", "状态", "对象", "规则", "因子", "开始", "最近", "小时数", "峰值", "参照"):
        t.add_column(col, overflow="fold")
    for r in rows.itertuples(index=False):
        rule = titles.get(r.rule) or titles.get(r.rule.rsplit(".", 1)[0]) or r.rule
        t.add_row(str(r.alarm_id), LEVELS.get(int(r.level), str(r.level)), STATES.get(r.state, r.state),
                  escape(f"{_name(r.subject_name)} {r.subject}".strip()), escape(rule), r.pollutant or "—",
                  _hour_text(r.start_hi), _hour_text(r.end_hi), str(r.hours), _num(r.peak_value), _num(r.peak_reference))
    console.print(t)


def _name(x) -> str:
    return x if isinstance(x, str) else ""  # NaN/None: a subject without a registered name (a city, a device)


def _num(x) -> str:
    return "—" if x is None or x != x else f"{float(x):g}"


def _move(ctx: typer.Context, alarm_id: int, to: str, reason: str | None) -> None:
    from ..store.alarms import STATES, AlarmStateError, change_state

    try:
        with open_workspace(ctx) as ws:
            before = change_state(ws.con, alarm_id, to, _actor(), reason)
    except AlarmStateError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        raise typer.Exit(2)
    console.print(f"报警 {alarm_id}：{STATES[before]} → {STATES[to]}")


@alerts_app.command("ack")
def ack_cmd(ctx: typer.Context, alarm_id: int = typer.Argument(..., help="报警编号")) -> None:
    """确认报警（已看到，正在核实）。"""
    _move(ctx, alarm_id, "acknowledged", None)


@alerts_app.command("false")
def false_cmd(ctx: typer.Context, alarm_id: int = typer.Argument(..., help="报警编号"),
              reason: str = typer.Option(..., "--reason", help="误报理由（如 仪器校准时段）")) -> None:
    """标记为误报（须写明理由）。"""
    _move(ctx, alarm_id, "false_alarm", reason)


@alerts_app.command("close")
def close_cmd(ctx: typer.Context, alarm_id: int = typer.Argument(..., help="报警编号"),
              reason: str = typer.Option(..., "--reason", help="办结说明")) -> None:
    """办结报警（须写明办结说明）。"""
    _move(ctx, alarm_id, "closed", reason)


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
