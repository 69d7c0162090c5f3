"""What every command of the ``qingshan`` command line shares: the workspace and the settings.

The root callback (:mod:`qingshan.cli`) builds one :class:`CliContext` and puts it on ``typer.Context.obj``; a
command takes a ``ctx: typer.Context`` parameter and asks :func:`workspace_path` / :func:`open_workspace`. A
sub-app run on its own (tests, ``qingshan.cli.ledger.ledger_app`` mounted elsewhere) has no root object: then the
settings as the environment holds them decide (``QINGSHAN_WORKSPACE``, else ``./qingshan-workspace``). This is the
command line's only workspace resolver.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..settings import Settings, current

if TYPE_CHECKING:
    from ..store.workspace import Workspace


@dataclass(frozen=True)
class CliContext:
    """The root object of a command line run (``ctx.obj``): the workspace folder and the settings."""

    workspace: Path
    settings: Settings

    @classmethod
    def build(cls, workspace: Path | None, settings: Settings | None = None) -> CliContext:
        """``--workspace`` wins over the settings' ``QINGSHAN_WORKSPACE`` (read once, here)."""
        settings = settings or Settings.from_env()
        return cls(workspace=Path(workspace) if workspace is not None else settings.workspace, settings=settings)


def cli_context(ctx: typer.Context | None) -> CliContext:
    """The run's :class:`CliContext`, or one built from the environment when the sub-app runs on its own."""
    root = ctx.find_root().obj if ctx is not None else None
    return root if isinstance(root, CliContext) else CliContext.build(None, current())


def workspace_path(ctx: typer.Context | None) -> Path:
    """The workspace folder of this run (see the module docstring)."""
    return cli_context(ctx).workspace


def open_workspace(ctx: typer.Context | None) -> Workspace:
    """The workspace store of this run, opened (use it as a context manager).

    While a platform (``qingshan serve``) runs on the workspace it holds the store (DuckDB lets no other process
    open the file, not even to read): the command ends with one line naming the platform and what to do instead.
    ``qingshan import`` hands its files to the platform before it gets here."""
    from ..store.workspace import Workspace

    refuse_if_platform(ctx)
    return Workspace(workspace_path(ctx))


def refuse_if_platform(ctx: typer.Context | None, instead: str = "") -> None:
    """Exit with code 2 and one line when a platform runs on this run's workspace."""
    from ..errors import QingshanError
    from ..platform.lock import read_running
    from .errors import fail

    ws = workspace_path(ctx)
    try:
        running = read_running(ws)
    except QingshanError as e:
        fail(e)
    if running is not None:
        fail(f"工作区 {ws} 的测量库正由平台 qingshan serve 使用（{running.describe()}），本命令不能同时打开它；"
             + (instead or f"请在控制台或 API（{running.url}/api/v1）查看，或先停止平台后重试"))


def output_path(ctx: typer.Context | None, given: Path | None, default_name: str) -> Path:
    """Where a generated file goes: ``-o`` when given, else the workspace's ``output/`` folder (created)."""
    if given is not None:
        return given
    folder = workspace_path(ctx) / "output"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / default_name
