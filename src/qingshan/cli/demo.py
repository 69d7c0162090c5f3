"""``qingshan demo``: build a workspace that shows the whole platform, then start the console
(the builder is :mod:`qingshan.demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .context import workspace_path
from .errors import fail
from .output import console


def demo(
    ctx: typer.Context,
    data: Optional[Path] = typer.Option(None, "--data", help="真实数据目录（quotsoft 日文件、CNEMC 导出、站点表）；缺省使用内置生成数据"),
    stations: Optional[Path] = typer.Option(None, "--stations", help="站点表 CSV/XLSX（--data 目录中没有站点表时使用；"
                                            "缺省在 --data 目录及其旁边的 cnemc_station_list_* 目录中查找）"),
    city: Optional[str] = typer.Option(None, "--city", help="评价的城市（缺省：数据最多的城市，或内置示范城市）"),
    serve_console: bool = typer.Option(True, "--serve/--no-serve", help="建好工作区后启动 Web 控制台"),
    host: str = typer.Option("127.0.0.1", "--host", help="控制台监听地址"),
    port: int = typer.Option(8000, "--port", help="控制台端口"),
    demo_password: Optional[str] = typer.Option(None, "--demo-password", help="演示账号的密码（缺省随机生成并打印）"),
) -> None:
    """一条命令看到平台的全貌：导入 → 小时 AQI → HJ 663 评价 → 目标进度 → 演示台账 → 启动控制台。"""
    from ..demo import DemoError, run_demo
    from ..ingest import IngestError

    workspace = workspace_path(ctx)
    try:
        city_used, accounts = run_demo(workspace, data, city, console, demo_password, stations=stations)
    except IngestError as e:
        fail(e, 2, "导入失败：")
    except DemoError as e:
        fail(e)
    logins = workspace / "demo-logins.txt"
    if accounts and logins.exists():
        console.print("演示账号（用户名、密码、角色；另存于 " + str(logins) + "）：")
        for line in logins.read_text(encoding="utf-8").splitlines():
            console.print("  " + line.replace("\t", "  "))
    if serve_console:
        from .serve import serve_console as run

        run(workspace, host, port)
