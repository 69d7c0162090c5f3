"""Command groups mounted by name and imported on first use.

``qingshan --help`` lists every group with its help text; the module that defines a group's commands is imported
only when the group itself is used (``qingshan ledger …``). This keeps the start-up light whatever the group's
module imports at its top (``ledger`` and ``hj212`` own their command modules).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup


class LazyGroup(TyperGroup):
    """A group whose sub-commands are those of ``target`` (module, attribute of a ``typer.Typer``), loaded on the
    first access to :attr:`commands`."""

    target: tuple[str, str] = ("", "")

    @property
    def commands(self) -> Any:
        if self._loaded is None:
            module, attr = self.target
            real = typer.main.get_command(getattr(importlib.import_module(module), attr))
            # a Typer app with one command and no callback comes back as that command, not as a group
            commands = getattr(real, "commands", None)  # typer's own click: a group is not a click.Group
            self._loaded = dict(commands) if commands is not None else {real.name: real}
        return self._loaded

    @commands.setter
    def commands(self, value: Any) -> None:
        self._loaded = dict(value) if value else None


def lazy_typer(module: str, attr: str, help: str) -> typer.Typer:
    """A Typer app to mount with ``add_typer`` whose commands are ``module.attr``'s, imported when first used."""
    cls = type(f"Lazy_{attr}", (LazyGroup,), {"target": (module, attr)})
    return typer.Typer(cls=cls, help=help, no_args_is_help=True)
