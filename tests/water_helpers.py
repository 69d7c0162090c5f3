"""Shared pieces of the water/noise/rain/dust tests (a module of helpers, not a test file)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture
def water_cli(tmp_path, monkeypatch):
    """``run(args)`` invokes the main ``qingshan`` app with ``--workspace`` set to a fresh folder; returns (run,
    workspace path). Captured output is not a terminal, so tables come at full width (qingshan.cli.output)."""
    from qingshan.cli import app

    workspace = tmp_path / "ws"
    runner = CliRunner()

    def run(args: list[str]):
        return runner.invoke(app, ["--workspace", str(workspace), *map(str, args)])

    return run, workspace
