"""Shared pieces of the water/noise/rain/dust tests (a module of helpers, not a test file)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture
def water_cli(tmp_path, monkeypatch):
    """``run(args)`` invokes the main ``qingshan`` app with the water commands registered (as cli.py will do)
    and ``--workspace`` set to a fresh folder; returns (run, workspace path)."""
    from rich.console import Console

    import qingshan.cli_water as cw
    from qingshan.cli import app, import_app
    from qingshan.cli_water import register

    register(app, import_app)
    monkeypatch.setattr(cw, "console", Console(width=250))  # wide screen tables in the captured output
    monkeypatch.setattr(cw, "err", Console(width=250, stderr=True))
    workspace = tmp_path / "ws"
    runner = CliRunner()

    def run(args: list[str]):
        return runner.invoke(app, ["--workspace", str(workspace), *map(str, args)])

    return run, workspace
