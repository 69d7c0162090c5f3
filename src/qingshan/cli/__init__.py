"""The ``qingshan`` command line: ``qingshan <area> <verb>`` (docs/cli.md).

One module per command group; this module only mounts them. Everything imported here at start-up is light (typer,
rich, the standard library, :mod:`qingshan.settings`): pandas, DuckDB, SQLAlchemy, FastAPI and the evaluation
engines are imported inside the commands, so ``qingshan --help`` answers in well under a second
(``tests/test_cli.py::test_start_up_imports_stay_light``, ``bench/cli_bench.py``).

The root callback puts a :class:`~qingshan.cli.context.CliContext` (workspace, settings) on ``ctx.obj``; every
command reads it from there (:mod:`qingshan.cli.context`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from ..settings import SettingError, Settings
from .context import CliContext
from .demo import demo
from .errors import fail
from .imports import import_app, list_quarantine
from .lazy import lazy_typer
from .reports import report_app
from .serve import backup, serve
from .targets import targets_app

__all__ = ["app"]

#: help written to a pipe or a file: wide enough that typer's tables never cut an option's help to "…" (typer's
#: help module reads TERMINAL_WIDTH when it is first imported, i.e. only when help or an error is printed)
PIPED_HELP_WIDTH = 300
if not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
    os.environ.setdefault("TERMINAL_WIDTH", str(PIPED_HELP_WIDTH))

app = typer.Typer(help="青山：城市生态环境局业务平台", no_args_is_help=True, add_completion=False)
#: groups whose command modules belong to their packages, or that no other command needs: imported when used
#: (:mod:`qingshan.cli.lazy`; a group with a callback of its own — targets, report — stays eager). Each module
#: costs start-up time of every command (``alerts explain`` must answer in ≤ 2 s, bench/explain_bench.py).
air_app = lazy_typer("qingshan.cli.air", "air_app", "环境空气质量：AQI、HJ 663 评价、排名")
water_app = lazy_typer("qingshan.cli.water", "water_app", "地表水：GB 3838 定类、地表水环境质量评价办法评价、营养状态")
noise_app = lazy_typer("qingshan.cli.deposition", "noise_app", "声环境：区域、道路交通、功能区（GB 3096、HJ 640）")
rain_app = lazy_typer("qingshan.cli.deposition", "rain_app", "酸雨：降水量加权 pH、酸雨频率")
dust_app = lazy_typer("qingshan.cli.deposition", "dust_app", "降尘：月均、年均与考核目标")
export_app = lazy_typer("qingshan.cli.lake", "export_app", "导出：数据湖（分区 Parquet，供 Spark 等分布式引擎读取）")
ledger_app = lazy_typer("qingshan.cli.ledger", "ledger_app", "治理台账：督察整改、重点任务、项目、专项整治、信访、执法案件")
hj212_app = lazy_typer("qingshan.cli.hj212", "hj212_app", "HJ 212 在线监测数据接收：接收服务、设备登记、设备模拟")
grid_app = lazy_typer("qingshan.cli.grid", "grid_app", "网格化监测微站：列表、对参比站校准、漂移检查")
review_app = lazy_typer("qingshan.cli.review", "review_app", "数据审核：自动预审建议、标记无效/恢复、XLSX 往返、审核记录")


@app.callback()
def main(
    ctx: typer.Context,
    workspace: Optional[Path] = typer.Option(
        None, "--workspace", "-w", help="工作区目录（默认 ./qingshan-workspace 或环境变量 QINGSHAN_WORKSPACE）"
    ),
) -> None:
    try:
        ctx.obj = CliContext.build(workspace, Settings.from_env())
    except SettingError as e:
        fail(e)


for sub, name in ((import_app, "import"), (air_app, "air"), (water_app, "water"), (noise_app, "noise"),
                  (rain_app, "rain"), (dust_app, "dust"), (ledger_app, "ledger"), (hj212_app, "hj212"),
                  (targets_app, "targets"), (report_app, "report"), (export_app, "export"), (grid_app, "grid"),
                  (review_app, "review")):
    app.add_typer(sub, name=name)
app.add_typer(lazy_typer("qingshan.cli.alerts", "alerts_app", "报警中心：初步原因分析"), name="alerts")
app.command("quarantine")(list_quarantine)
app.command("demo")(demo)
app.command("serve")(serve)
app.command("backup")(backup)
