"""``qingshan ledger ...``: the ledger's command line (a Typer sub-app, wired into :mod:`qingshan.cli`).

Commands::

    qingshan --workspace DIR ledger demo [--demo-password PW]   # build the demo ledger (empty ledger only)
    qingshan --workspace DIR ledger stats [--json] [--as-of DATE]
    qingshan --workspace DIR ledger export FILE.xlsx [--public]
    qingshan --workspace DIR ledger import FILE.xlsx [--source TEXT] [--as USER] [--dry-run]
    qingshan --workspace DIR ledger users add NAME --role ROLE [--unit UNIT] [--password PW]
    qingshan --workspace DIR ledger users list | users disable NAME
    qingshan --workspace DIR ledger units list | units add CODE NAME --kind KIND [--parent UNIT]
    qingshan --workspace DIR ledger audit [--verify] [--record ID]

``stats --json`` prints one JSON object whose keys ``rectification_items``, ``rectification_completed``,
``petitions``, ``petitions_closed`` and ``key_tasks`` are stable (outside checks read them).

The workspace (:func:`workspace_of`): the root command's ``ctx.obj.workspace`` (the main CLI puts its workspace and
settings there); without one, a ``--workspace`` value given to the root command, then
``qingshan.settings.current().workspace``.

Start-up cost: this module imports only typer, rich and the standard library; SQLAlchemy, the service and
openpyxl are imported inside the commands, so ``qingshan --help`` does not pay for them.
The CLI acts as the local operator (whoever can run it can read and write the workspace's files); ``import --as
USER`` applies a user's permissions instead.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..settings import current as current_settings

ledger_app = typer.Typer(help="治理台账：督察整改、重点任务、项目、专项整治、信访、执法案件", no_args_is_help=True)
users_app = typer.Typer(help="用户管理（角色：admin/bureau/department/district/public）", no_args_is_help=True)
units_app = typer.Typer(help="单位管理（局机关、部门、辖市区、镇街道）", no_args_is_help=True)
ledger_app.add_typer(users_app, name="users")
ledger_app.add_typer(units_app, name="units")

console = Console()
err = Console(stderr=True)

def workspace_of(ctx: Optional[typer.Context]) -> Path:
    """The workspace of a ledger command (see the module docstring for the order)."""
    root = ctx.find_root() if ctx is not None else None
    if root is not None:
        ws = getattr(root.obj, "workspace", None)
        if ws is not None:
            return Path(ws)
        value = root.params.get("workspace")
        if value:
            return Path(value)
    return current_settings().workspace


def _open(ctx: typer.Context):
    from ..ledger.db import open_ledger

    try:
        return open_ledger(workspace_of(ctx))
    except Exception as e:  # a bad URL or an unreachable server
        err.print(f"[red]无法打开台账：[/]{e}")
        raise typer.Exit(2) from None


def _service(session: Any, ledger: Any, as_user: Optional[str] = None, today: Any = None,
             public: bool = False):
    from sqlalchemy import select

    from ..ledger.files import FileStore
    from ..ledger.models import User
    from ..ledger.rbac import Principal
    from ..ledger.service import LedgerService

    principal = Principal.public() if public else Principal.system()
    if as_user:
        user = session.execute(select(User).where(User.username == as_user)).scalar_one_or_none()
        if user is None or not user.active:
            err.print(f"[red]用户 {as_user} 不存在或已停用[/]")
            raise typer.Exit(2)
        principal = Principal.of(user)
    return LedgerService(session, principal, files=FileStore(ledger.files_dir), today=today)


@contextmanager
def _opened(ctx: typer.Context, **service_options: Any) -> Iterator[Any]:
    """A service (the local operator unless ``as_user``/``public``) on an opened ledger; committed on success."""
    ledger = _open(ctx)
    try:
        with ledger.session() as s:
            yield _service(s, ledger, **service_options)
    finally:
        ledger.dispose()


@contextmanager
def _refused(prefix: str = "") -> Iterator[None]:
    """A ledger error (bad input, no permission, name taken) becomes one red line and exit status 2."""
    from ..ledger.rbac import LedgerError

    try:
        yield
    except LedgerError as e:
        err.print(f"[red]{prefix}[/]{e}" if prefix else f"[red]{e}[/]")
        raise typer.Exit(2) from None


# --- demo / stats ----------------------------------------------------------------------------------------------


@ledger_app.command("demo")
def demo(
    ctx: typer.Context,
    demo_password: Optional[str] = typer.Option(
        None, "--demo-password", help="同时创建演示账号 admin/bureau/zjj（市住建局）/wujin（武进区），使用此密码"),
) -> None:
    """在空台账中建立演示台账（2023 年省督察 41 项整改任务、36 项重点任务、项目、专项整治、196 件交办信访、134 件案件）。"""
    from ..ledger.demo import build_demo_ledger
    from ..ledger.rbac import Principal
    from ..ledger.service import LedgerError, LedgerService

    ledger = _open(ctx)
    try:
        with ledger.session() as s:
            try:
                st = build_demo_ledger(s)
            except ValueError as e:
                err.print(f"[yellow]{e}[/]")
                raise typer.Exit(1) from None
            if demo_password:
                svc = LedgerService(s, Principal.system())
                try:
                    for name, role, unit, label in (("admin", "admin", None, "系统管理员"),
                                                    ("bureau", "bureau", "常州市生态环境局", "局机关演示账号"),
                                                    ("zjj", "department", "市住建局", "市住建局演示账号"),
                                                    ("wujin", "district", "武进区", "武进区演示账号")):
                        svc.create_user(name, demo_password, role, unit, label)
                except LedgerError as e:
                    err.print(f"[red]创建演示账号失败：[/]{e}")
                    raise typer.Exit(2) from None
    finally:
        ledger.dispose()
    console.print(f"演示台账已建立（{workspace_of(ctx) / 'ledger.sqlite' if 'sqlite' in ledger.url else '数据库'}）：")
    print_stats(st)
    if demo_password:
        console.print("演示账号：admin、bureau、zjj（市住建局）、wujin（武进区）")


def print_stats(st: dict[str, Any]) -> None:
    t = Table(title=f"台账统计（截至 {st['as_of']}）")
    t.add_column("项目")
    t.add_column("数量", justify="right")
    rate = st.get("rectification_completion_rate")
    rows = [
        ("督察整改任务", st["rectification_items"]),
        ("  已完成整改", st["rectification_completed"]),
        ("  完成率", f"{rate * 100:.1f}%" if rate is not None else "—"),
        ("  逾期", st["rectification_overdue"]),
        ("  临期预警", st["rectification_at_risk"]),
        ("重点任务", st["key_tasks"]),
        ("  已完成", st["key_tasks_completed"]),
        ("项目", st["projects"]),
        ("信访件", st["petitions"]),
        ("  已办结", st["petitions_closed"]),
        ("  逾期", st["petitions_overdue"]),
        ("执法案件", st["enforcement_cases"]),
    ]
    for k, v in rows:
        t.add_row(k, str(v))
    console.print(t)
    for c in st.get("campaigns", []):
        console.print(f"专项整治“{c['title']}”：{c['enterprises']} 家，方案审核 {_pct(c['plan_approved_rate'])}，"
                      f"整治 {_pct(c['remediated_rate'])}，验收 {_pct(c['accepted_rate'])}")


def _pct(v: Optional[float]) -> str:
    return "—" if v is None else f"{v * 100:.2f}%"


@ledger_app.command("stats")
def stats(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="输出 JSON 对象（键名稳定）"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="按该日期判断逾期与临期（YYYY-MM-DD，默认今天）"),
) -> None:
    """台账统计：各类记录数量、完成率、逾期与临期清单。"""
    import datetime as dt

    today = None
    if as_of:
        try:
            today = dt.date.fromisoformat(as_of)
        except ValueError:
            err.print(f"[red]--as-of 日期无效：{as_of}[/]")
            raise typer.Exit(2) from None
    with _opened(ctx, today=today) as svc:
        st = svc.stats()
    if as_json:
        sys.stdout.write(json.dumps(st, ensure_ascii=False) + "\n")
        return
    print_stats(st)
    if st["overdue"]:
        t = Table(title="逾期清单")
        for c in ("编号", "事项", "时限", "责任单位"):
            t.add_column(c)
        for o in st["overdue"][:50]:
            t.add_row(o["code"], o["title"], o["deadline"] or "", "、".join(o["responsible"]))
        console.print(t)
        if len(st["overdue"]) > 50:
            console.print(f"……共 {len(st['overdue'])} 项（完整清单：--json）")


# --- xlsx --------------------------------------------------------------------------------------------------


@ledger_app.command("export")
def export(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="输出 XLSX 文件"),
    public: bool = typer.Option(False, "--public", help="只导出已公开事项的公开表（序号、问题、整改时限、责任单位、整改进展、完成情况）"),
) -> None:
    """按局里的列格式导出整改台账（XLSX）。"""
    from ..ledger.xlsx import export_xlsx

    with _opened(ctx, public=public) as svc:
        n = export_xlsx(svc, file, public=public)
    console.print(f"已导出 {n} 项{'（公开表）' if public else ''}到 {file}")


@ledger_app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="XLSX 文件（整改任务表）"),
    source: str = typer.Option("", "--source", help="表中没有“督察来源”列时使用的督察来源"),
    as_user: Optional[str] = typer.Option(None, "--as", help="以该用户的权限导入（默认：本机管理员）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只检查并报告，不写入"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出导入报告"),
) -> None:
    """导入整改台账 XLSX：按台账编号（或督察来源+序号）更新，不重复新建；报告错误、越权和冲突。"""
    from ..ledger.xlsx import XlsxError, import_xlsx

    ledger = _open(ctx)
    try:
        s = ledger.sessionmaker()
        try:
            svc = _service(s, ledger, as_user)
            try:
                report = import_xlsx(svc, file, default_source=source)
            except XlsxError as e:
                err.print(f"[red]导入失败：[/]{e}")
                raise typer.Exit(2) from None
            if dry_run:
                s.rollback()
            else:
                s.commit()
        finally:
            s.close()
    finally:
        ledger.dispose()
    if as_json:
        sys.stdout.write(json.dumps({**report.as_dict(), "dry_run": dry_run}, ensure_ascii=False) + "\n")
    else:
        console.print(f"{'（试运行，未写入）' if dry_run else ''}工作表“{report.sheet}”：{report.rows} 行，新建 {report.created}，"
                      f"更新 {report.updated}，未变 {report.unchanged}，新增进展 {report.progress_added}")
        for e in report.errors:
            console.print(f"[red]第 {e.row} 行 {e.column}：{e.message}[/]")
        for e in report.rejected:
            console.print(f"[yellow]第 {e.row} 行 {e.column}：{e.message}[/]")
        for c in report.conflicts:
            console.print(f"[yellow]冲突 第 {c.row} 行 {c.code} {c.column}：表中“{c.sheet_value}”，台账已改为“{c.ledger_value}”（未覆盖）[/]")
    if report.errors or report.rejected or report.conflicts:
        raise typer.Exit(1)


# --- users and units --------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    role: str = typer.Option(..., "--role", help="admin | bureau | department | district | public"),
    unit: Optional[str] = typer.Option(None, "--unit", help="所属单位（名称、编码或 id）；部门、辖市区用户必填"),
    name: Optional[str] = typer.Option(None, "--name", help="显示名"),
    password: Optional[str] = typer.Option(None, "--password", help="密码（缺省时交互输入）"),
) -> None:
    """添加用户（argon2 哈希保存密码）。"""
    if password is None:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    with _opened(ctx) as svc, _refused("添加失败："):
        u = svc.create_user(username, password, role, unit, name)
        label = u.unit.name if u.unit else "—"
    console.print(f"已添加用户 {username}（{role}，{label}）")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """列出用户。"""
    t = Table(title="用户")
    for c in ("用户名", "显示名", "角色", "单位", "状态"):
        t.add_column(c)
    with _opened(ctx) as svc:
        for u in svc.users():
            t.add_row(u.username, u.display_name, u.role, u.unit.name if u.unit else "—", "启用" if u.active else "停用")
    console.print(t)


@users_app.command("disable")
def users_disable(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """停用用户（其令牌随即失效；用户不删除，审计日志仍指向它）。"""
    with _opened(ctx) as svc, _refused():
        svc.set_user_active(username, False)
    console.print(f"已停用 {username}")


@units_app.command("list")
def units_list(ctx: typer.Context) -> None:
    """列出单位。"""
    from ..ledger.models import UNIT_KIND_LABELS

    t = Table(title="单位")
    for c in ("id", "编码", "名称", "类型"):
        t.add_column(c)
    with _opened(ctx) as svc:
        for u in svc.units():
            t.add_row(str(u.id), u.code, u.name, UNIT_KIND_LABELS.get(u.kind, u.kind))
    console.print(t)


@units_app.command("add")
def units_add(
    ctx: typer.Context,
    code: str = typer.Argument(...),
    name: str = typer.Argument(...),
    kind: str = typer.Option(..., "--kind", help="bureau | department | district | town | other"),
    parent: Optional[str] = typer.Option(None, "--parent", help="上级单位（镇街道填所属辖市区）"),
) -> None:
    """添加单位。"""
    with _opened(ctx) as svc, _refused("添加失败："):
        svc.create_unit(code, name, kind, parent)
    console.print(f"已添加单位 {name}")


# --- audit -------------------------------------------------------------------------------------------------


@ledger_app.command("audit")
def audit_cmd(
    ctx: typer.Context,
    verify: bool = typer.Option(False, "--verify", help="校验审计日志哈希链（发现改写或删除）"),
    record: Optional[int] = typer.Option(None, "--record", help="只看某条台账记录"),
    limit: int = typer.Option(30, "--limit"),
) -> None:
    """查看审计日志，或校验其哈希链。"""
    from ..ledger.audit import verify_chain

    ledger = _open(ctx)
    try:
        with ledger.session() as s:
            if verify:
                rep = verify_chain(s)
            else:
                entries = _service(s, ledger).audit_entries(record_id=record, limit=limit)
                t = Table(title="审计日志（最新在前）")
                for c in ("序号", "时间", "操作人", "操作", "对象", "变更前", "变更后"):
                    t.add_column(c)
                for e in entries:
                    t.add_row(str(e.id), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, e.action,
                              f"{e.entity_type}#{e.entity_id}", _short(e.before), _short(e.after))
    finally:
        ledger.dispose()
    if verify:
        if rep.ok:
            console.print(f"审计日志完整：{rep.entries} 条，哈希链一致")
        else:
            console.print(f"[red]审计日志被改动：第 {rep.first_bad_id} 条 {rep.reason}（之前 {rep.entries} 条一致）[/]")
            raise typer.Exit(1)
    else:
        console.print(t)


def _short(v: Any, n: int = 60) -> str:
    if v is None:
        return ""
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[: n - 1] + "…"
