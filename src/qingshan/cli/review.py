"""``qingshan review …``: data review (数据审核) — pre-check suggestions, marks, the XLSX round trip, the log
(docs/review.md)."""

from __future__ import annotations

import getpass
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .air import PERIOD_HELP
from .context import open_workspace, output_path
from .errors import fail
from .output import console, err

review_app = typer.Typer(help="数据审核：自动预审建议、标记无效/恢复、XLSX 往返、审核记录", no_args_is_help=True)

STATION_HELP = "站点编码"
FROM_HELP = "起始小时（小时结束时刻，如 2025-03-20 09:00；只写日期 = 当日 01:00）"
TO_HELP = "结束小时（含；如 2025-03-20 11:00；只写日期 = 当日 24:00）"
POLLUTANTS_HELP = "污染物，逗号分隔：so2,no2,co,o3,pm10,pm25（缺省为全部；沙尘天气影响只扣除 pm10,pm25）"
REASON_HELP = "原因：校准 | 故障 | 停电 | 维护 | 异常值 | 沙尘天气影响 | 其他（“其他”须写 --note）"
BY_HELP = "审核人（缺省为当前操作系统用户）"
ROWS = 60


def reviewer(by: Optional[str]) -> str:
    """Who acts: ``--by`` or the OS user."""
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 — no user name in a container without /etc/passwd entry
        return os.environ.get("USER") or f"uid {os.getuid()}"


@contextmanager
def reviewing(ctx: typer.Context) -> Iterator:
    """The workspace's store, with a review error ending the command with its one line (exit 2)."""
    from ..errors import QingshanError

    try:
        with open_workspace(ctx) as ws:
            yield ws.con
    except QingshanError as e:
        fail(e)


def hour_range(period: str) -> tuple[int, int]:
    from ..evaluate.periods import parse_period

    try:
        p = parse_period(period)
    except ValueError as e:
        fail(e)
    return p.first_day * 24 + 1, (p.last_day + 1) * 24


@review_app.command("suggest")
def review_suggest(
    ctx: typer.Context,
    period: str = typer.Option(..., "--period", help=PERIOD_HELP),
    station: Optional[list[str]] = typer.Option(None, "--station", help="只预审这些站点（可重复）"),
    all_: bool = typer.Option(False, "--all", help="也列出已确认或已驳回的建议"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="完整建议表（.csv/.xlsx/.json）"),
) -> None:
    """自动预审：列出可疑的站点小时（只是建议，不改变评价结果）。"""
    from ..evaluate.precheck import suggest
    from ..evaluate.review import hour_text

    lo, hi = hour_range(period)
    with reviewing(ctx) as con:
        res = suggest(con, lo, hi, station or None, include_handled=all_)
    if res.empty:
        console.print(f"{period} 没有预审建议。")
        return
    t = Table(title=f"预审建议 {period}（{len(res)} 条；确认：qingshan review confirm 编号 --reason …）")
    for c in ("编号", "检查", "站点", "污染物", "起", "止", "说明"):
        t.add_column(c)
    for r in res.head(ROWS).itertuples():
        t.add_row(escape(r.key), r.check_label, escape(r.station), r.pollutants, hour_text(r.hi_from),
                  hour_text(r.hi_to), escape(r.detail))
    console.print(t)
    if len(res) > ROWS:
        console.print(f"仅显示前 {ROWS} 条，共 {len(res)} 条；完整结果请用 -o 输出")
    if output:
        from .air import write_result

        write_result(res, output, "预审建议")
        console.print(f"完整建议写入 {output}")


def _print_mark(mark: dict | None, what: str) -> None:
    from ..evaluate.review import hour_text

    if mark is None:
        console.print(f"无变化：所选小时已是{what}状态，未记录。")
        return
    before = sum(c["reviewed"] for c in mark["before_counts"].values())
    after = sum(c["reviewed"] for c in mark["after_counts"].values())
    console.print(f"已记录审核 #{mark['mark_id']}：{escape(mark['station'])} {mark['pollutants']} "
                  f"{hour_text(mark['hi_from'])} 至 {hour_text(mark['hi_to'])}，{what}（{mark['reason_label']}）；"
                  f"有效值 {before} → {after}（审核人 {escape(mark['by_user'])}）")


def _mark(ctx: typer.Context, action: str, station: str, start: str, end: str, reason: str,
          pollutants: Optional[str], note: Optional[str], by: Optional[str]) -> None:
    from ..evaluate.review import mark_request
    from ..standards.review import ACTIONS
    from ..store.review import record_mark

    with reviewing(ctx) as con:
        req = mark_request(action, station, start, end, reason, pollutants, note)
        mark = record_mark(con, req, reviewer(by), "cli")
    _print_mark(mark, ACTIONS[action])


@review_app.command("mark")
def review_mark(
    ctx: typer.Context,
    station: str = typer.Option(..., "--station", help=STATION_HELP),
    start: str = typer.Option(..., "--from", help=FROM_HELP),
    end: str = typer.Option(..., "--to", help=TO_HELP),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    pollutants: Optional[str] = typer.Option(None, "--pollutants", help=POLLUTANTS_HELP),
    note: Optional[str] = typer.Option(None, "--note", help="说明"),
    by: Optional[str] = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """把站点 × 污染物 × 小时段标记为无效（原始数据保留；评价默认使用审核后数据）。"""
    _mark(ctx, "invalidate", station, start, end, reason, pollutants, note, by)


@review_app.command("restore")
def review_restore(
    ctx: typer.Context,
    station: str = typer.Option(..., "--station", help=STATION_HELP),
    start: str = typer.Option(..., "--from", help=FROM_HELP),
    end: str = typer.Option(..., "--to", help=TO_HELP),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    pollutants: Optional[str] = typer.Option(None, "--pollutants", help=POLLUTANTS_HELP),
    note: Optional[str] = typer.Option(None, "--note", help="说明"),
    by: Optional[str] = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """恢复站点 × 污染物 × 小时段为有效（同时撤销其沙尘天气影响标记）。"""
    _mark(ctx, "restore", station, start, end, reason, pollutants, note, by)


@review_app.command("confirm")
def review_confirm(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="预审建议编号（qingshan review suggest 列出）"),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    note: Optional[str] = typer.Option(None, "--note", help="说明"),
    by: Optional[str] = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """确认一条预审建议：其站点小时标记为无效。"""
    from ..evaluate.review import confirm_suggestion

    with reviewing(ctx) as con:
        mark = confirm_suggestion(con, key, reason, reviewer(by), "cli", note)
    _print_mark(mark, "标记无效")


@review_app.command("dismiss")
def review_dismiss(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="预审建议编号"),
    note: Optional[str] = typer.Option(None, "--note", help="说明"),
    by: Optional[str] = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """驳回一条预审建议（数据有效，不再列出）。"""
    from ..evaluate.review import dismiss_suggestion

    with reviewing(ctx) as con:
        done = dismiss_suggestion(con, key, reviewer(by), "cli", note)
    console.print(f"已驳回建议 {escape(key)}。" if done else f"建议 {escape(key)} 此前已驳回，未重复记录。")


@review_app.command("export")
def review_export(
    ctx: typer.Context,
    period: str = typer.Option(..., "--period", help=PERIOD_HELP),
    station: Optional[list[str]] = typer.Option(None, "--station", help="只导出这些站点（可重复）"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="审核工作簿 .xlsx（缺省写入工作区 output/）"),
) -> None:
    """导出审核工作簿：预审建议与现有标记，供审核人填写“结论”“原因”后导入。"""
    from ..evaluate.review import export_workbook

    lo, hi = hour_range(period)
    with reviewing(ctx) as con:
        path = output_path(ctx, output, f"审核_{period.replace(':', '_')}.xlsx")
        _, n_sugg, n_marks = export_workbook(con, lo, hi, station or None, path)
    console.print(f"审核工作簿写入 {path}：预审建议 {n_sugg} 条，现有标记 {n_marks} 段")


@review_app.command("import")
def review_import(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="填写后的审核工作簿 .xlsx"),
    by: Optional[str] = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """导入填写后的审核工作簿：“无效”行记为标记，“有效”行恢复并驳回建议；有问题的行逐行报告。"""
    from ..evaluate.review import import_workbook

    if not path.is_file():
        fail(f"找不到文件 {path}")
    with reviewing(ctx) as con:
        report = import_workbook(con, path, reviewer(by))
    for line, reason in report.problems[:50]:
        err.print(f"[yellow]第 {line} 行：{escape(reason)}（该行未导入）[/]")
    console.print(report.summary())
    if report.problems:
        raise typer.Exit(1)


@review_app.command("log")
def review_log(
    ctx: typer.Context,
    station: Optional[str] = typer.Option(None, "--station", help=STATION_HELP),
    limit: int = typer.Option(50, "--limit", min=1, max=10000, help="最多显示条数"),
) -> None:
    """审核记录（谁、何时、为何、前后有效值个数），最新在前。"""
    from ..evaluate.review import hour_text
    from ..standards.review import ACTIONS
    from ..store.review import marks_log

    with reviewing(ctx) as con:
        rows = marks_log(con, station, limit)
    if not rows:
        console.print("还没有审核记录。")
        return
    t = Table(title="审核记录")
    for c in ("#", "时间", "审核人", "来源", "操作", "站点", "污染物", "起", "止", "原因", "说明", "有效值 前→后"):
        t.add_column(c)
    for m in rows:
        before = sum(c["reviewed"] for c in m["before_counts"].values())
        after = sum(c["reviewed"] for c in m["after_counts"].values())
        t.add_row(str(m["mark_id"]), m["marked_at"].strftime("%Y-%m-%d %H:%M:%S"), escape(m["by_user"]), m["via"],
                  ACTIONS[m["action"]], escape(m["station"]), m["pollutants"], hour_text(m["hi_from"]),
                  hour_text(m["hi_to"]), m["reason_label"], escape(m["note"] or ""), f"{before}→{after}")
    console.print(t)
