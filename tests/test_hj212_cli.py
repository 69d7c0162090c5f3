"""``qingshan hj212`` for people: one source of defaults (ServerConfig / SimConfig), the workspace from the main
CLI's ``ctx.obj``, logs in Beijing time, empty results said in words, MN numbers never cut."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from typer.testing import CliRunner

from qingshan.cli import hj212 as cli_module
from qingshan.cli.hj212 import hj212_app
from qingshan.hj212 import server as server_module
from qingshan.hj212 import simulate as simulate_module
from qingshan.hj212.config import BeijingFormatter, ServerConfig, SimConfig
from qingshan.hj212.devices import Device
from qingshan.hj212.rules import KIND_NAMES, Alert
from qingshan.hj212.simulate import SimResult
from qingshan.hj212.store import Hj212Store
from qingshan.store.workspace import Workspace

# A 24-character MN (HJ 212-2017 表3) and a long name: what narrow tables used to cut with "…".
LONG_MN = "010000A8900016F000169DC0"
LONG_NAME = "青山市某某化工集团有限公司第二分厂"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def captured(monkeypatch):
    """Replace the receiver and the simulator by recorders (the commands import them when they run)."""
    calls: dict[str, object] = {}

    async def fake_server(cfg, *, recover_only=False, after_load=None):
        calls["serve"] = (cfg, recover_only)
        calls["after_load"] = after_load
        return 0

    async def fake_simulation(cfg, **_):
        calls["simulate"] = cfg
        return SimResult(devices=cfg.devices, seconds=1.0)

    monkeypatch.setattr(server_module, "run_server", fake_server)
    monkeypatch.setattr(simulate_module, "run_simulation", fake_simulation)
    # an older cli.py imported them at the top: patch its names too, so that this test fails there, not hangs
    monkeypatch.setattr(cli_module, "run_server", fake_server, raising=False)
    monkeypatch.setattr(cli_module, "run_simulation", fake_simulation, raising=False)
    monkeypatch.setattr(cli_module, "log_to_stderr", lambda level: calls.setdefault("log_level", level),
                        raising=False)
    return calls


def test_command_defaults_are_the_config_defaults(tmp_path, captured):
    runner = CliRunner()
    r = runner.invoke(hj212_app, ["serve", "-w", str(tmp_path)])
    assert r.exit_code == 0, r.output
    cfg, recover_only = captured["serve"]
    assert cfg == ServerConfig(workspace=tmp_path) and recover_only is False
    assert cfg.stats_interval == 60.0  # the documented default (docs/hj212.md), once in ServerConfig
    assert callable(captured["after_load"])  # the quality feed is wired (docs/hj212.md#环境质量站点入库feed)
    r = runner.invoke(hj212_app, ["simulate"])
    assert r.exit_code == 0, r.output
    assert captured["simulate"] == SimConfig()


def test_serve_has_every_option_the_argparse_copy_had(tmp_path, captured):
    r = CliRunner().invoke(hj212_app, [
        "serve", "-w", str(tmp_path), "--db-memory", "2GB", "--log-level", "debug", "--recover-only", "--no-fsync",
        "--stats-interval", "0", "--max-frame", "20000", "--max-errors", "7"])
    assert r.exit_code == 0, r.output
    cfg, recover_only = captured["serve"]
    assert recover_only is True and captured["log_level"] == "DEBUG"
    assert cfg == replace(ServerConfig(workspace=tmp_path), db_memory_limit="2GB", fsync=False, stats_interval=0.0,
                          max_errors=7)  # --max-frame is capped at the standard's 9999
    r = CliRunner().invoke(hj212_app, ["serve", "-w", str(tmp_path), "--db-memory", ""])
    assert r.exit_code == 0 and captured["serve"][0].db_memory_limit is None  # empty: DuckDB's own default


def test_workspace_comes_from_the_main_cli_context(tmp_path, captured, monkeypatch):
    main = typer.Typer()

    @main.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = SimpleNamespace(workspace=tmp_path / "from-main", settings=None)

    main.add_typer(hj212_app, name="hj212")
    monkeypatch.setenv("QINGSHAN_WORKSPACE", str(tmp_path / "from-env"))
    r = CliRunner().invoke(main, ["hj212", "serve"])
    assert r.exit_code == 0, r.output
    assert captured["serve"][0].workspace == tmp_path / "from-main"
    r = CliRunner().invoke(hj212_app, ["serve"])  # the sub-app on its own: the settings
    assert captured["serve"][0].workspace == tmp_path / "from-env"
    r = CliRunner().invoke(main, ["hj212", "serve", "-w", str(tmp_path / "own")])  # its own option first
    assert captured["serve"][0].workspace == tmp_path / "own"


def test_workspace_from_a_root_option_without_obj(tmp_path, captured):
    """A main CLI that only declares ``--workspace`` (and sets no ``ctx.obj``): its value still reaches hj212."""
    main = typer.Typer()

    @main.callback()
    def root(workspace: Path = typer.Option(None, "--workspace", "-w")) -> None:
        pass

    main.add_typer(hj212_app, name="hj212")
    r = CliRunner().invoke(main, ["-w", str(tmp_path / "global"), "hj212", "serve"])
    assert r.exit_code == 0, r.output
    assert captured["serve"][0].workspace == tmp_path / "global"


def test_alert_kinds_match_the_rules():
    assert {k.value for k in cli_module.AlertKind} == set(KIND_NAMES)


def test_log_lines_are_in_beijing_time(monkeypatch):
    record = logging.LogRecord("qingshan.hj212.server", logging.INFO, __file__, 1, "已启动", None, None)
    record.created = datetime(2026, 12, 5, 13, 3, 4, tzinfo=timezone.utc).timestamp()
    assert BeijingFormatter().format(record) == "2026-12-05 21:03:04+08:00 INFO 已启动"
    # serve installs it on stderr (a root logger without handlers, as in a fresh process)
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(logging.root, "level", logging.root.level)
    cli_module.log_to_stderr("INFO")
    assert isinstance(logging.root.handlers[0].formatter, BeijingFormatter)


def _workspace_with_alert(ws: Path) -> None:
    dev = Device(mn=LONG_MN, enterprise=LONG_NAME, outlet="DA001")
    with Workspace(ws) as w:
        store = Hj212Store(w.con)
        store.upsert_devices([dev], "devices.csv")
        alert = Alert(key="exceed|1|a21026", kind="exceed", mn=LONG_MN, cn="2061", factor="a21026",
                      message=f"{LONG_NAME} / DA001：二氧化硫（a21026）小时数据 ZsAvg = 36mg/m³，超过限值 35mg/m³",
                      evidence={"MN": LONG_MN})
        older = replace(alert, key="exceed|0|a21026", message="更早的一条")
        store.insert_alerts([alert, older], lambda mn: dev)


def test_empty_alerts_say_so(tmp_path):
    runner = CliRunner()
    r = runner.invoke(hj212_app, ["alerts", "-w", str(tmp_path / "ws")])
    assert r.exit_code == 0 and "没有告警" in r.output and "任何" in r.output, r.output
    _workspace_with_alert(tmp_path / "ws")
    r = runner.invoke(hj212_app, ["alerts", "-w", str(tmp_path / "ws"), "--kind", "silent"])
    assert r.exit_code == 0 and "没有告警" in r.output and "停报" in r.output, r.output
    r = runner.invoke(hj212_app, ["alerts", "-w", str(tmp_path / "ws"), "--kind", "exceed"])
    assert "没有告警" not in r.output and LONG_MN in r.output


def test_piped_output_is_tsv_in_full(tmp_path, monkeypatch):
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "40")
    ws = tmp_path / "ws"
    _workspace_with_alert(ws)
    runner = CliRunner()
    r = runner.invoke(hj212_app, ["devices", "list", "-w", str(ws)])
    lines = r.output.splitlines()
    assert lines[0].split("\t")[0] == "MN" and "…" not in r.output, r.output
    assert lines[1].split("\t")[:3] == [LONG_MN, "是", LONG_NAME]
    r = runner.invoke(hj212_app, ["alerts", "-w", str(ws)])
    row = next(x.split("\t") for x in r.output.splitlines() if LONG_NAME in x)
    assert row[1:3] == ["超标", LONG_MN] and row[3].startswith(LONG_NAME) and row[3].endswith("35mg/m³"), r.output
    r = runner.invoke(hj212_app, ["alerts", "-w", str(ws), "--limit", "1"])
    assert "前 1 条 / 共 2 条" in r.output  # a limited list says so


def test_narrow_terminal_keeps_mn_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # a terminal, 60 columns wide
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("NO_COLOR", "1")
    ws = tmp_path / "ws"
    _workspace_with_alert(ws)
    r = CliRunner().invoke(hj212_app, ["devices", "list", "-w", str(ws)])
    out = ANSI.sub("", r.output)
    assert r.exit_code == 0 and LONG_MN in out and "…" not in out, out
    assert "\t" not in out  # a table, not TSV
