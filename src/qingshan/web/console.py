"""What a console request needs besides its ledger context: the measurement store, the result cache, the
workspace's target files and the server secret (for CSRF tokens). One :class:`Console` per app, kept in
``app.state.console``; the data functions of :mod:`qingshan.web.data` take it as their first argument."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request

from ..ledger.db import Ledger
from .cache import ResultCache
from .store import MeasurementStore, StoreState

T = TypeVar("T")

#: Target files of a deployment (``<workspace>/targets/*.yaml``) are searched before the shipped ones.
TARGETS_DIR = "targets"


@dataclass
class Console:
    workspace: Path
    store: MeasurementStore
    cache: ResultCache
    ledger: Ledger
    secret: bytes
    today: date | None = None  # pins the ledger's "today" (deadlines); None = the real date

    def cached(self, kind: str, params: tuple[Hashable, ...], compute: Callable[[StoreState], T],
               state: StoreState | None = None) -> T:
        """``compute(state)`` once per store state and ``params`` (see :mod:`.cache`)."""
        st = state or self.store.state()
        return self.cache.get_or_compute((kind, st.fingerprint, st.as_of_hi, *params), lambda: compute(st))

    def peek(self, kind: str, params: tuple[Hashable, ...], state: StoreState) -> Any | None:
        """What :meth:`cached` holds for ``kind`` and ``params`` at ``state``, or ``None`` (nothing is computed)."""
        return self.cache.peek((kind, state.fingerprint, state.as_of_hi, *params))

    @property
    def targets_dir(self) -> Path:
        return self.workspace / TARGETS_DIR


def get_console(request: Request) -> Console:
    """FastAPI dependency: the app's :class:`Console`."""
    return request.app.state.console
