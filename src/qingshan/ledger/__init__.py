"""The governance ledger (治理台账): the bureau's relational system of record (docs/design.md#two-stores).

What it holds (docs/ledger.md):

* organisational units (bureau, departments, districts, towns) and users with roles;
* ledger records of six kinds — rectification items after an inspection (督察整改任务), annual key tasks with
  indicators (重点任务), projects with investment and milestones (项目), enterprise remediation campaigns
  (专项整治), petitions (信访/12369) with legal time limits on the working-day calendar, enforcement cases
  (执法案件) with the 按日连续处罚 calculation;
* progress entries with attachments, and an append-only, hash-chained audit log.

Layers: :mod:`.models` (SQLAlchemy 2 ORM) and the Alembic migrations shipped in ``migrations/`` (run on first use
by :func:`.db.open_ledger`); :mod:`.workcal` (working days with China's swapped days), :mod:`.workflow` (explicit
state machines), :mod:`.rbac` (roles and scopes), :mod:`.audit`; :mod:`.service` — the only way the API, the CLI,
the XLSX import and the demo change anything; :mod:`.api`/:mod:`.app` (FastAPI) and :mod:`.cli` (Typer).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Ledger", "open_ledger"]


def __getattr__(name: str) -> Any:
    # lazy: ``qingshan --help`` and the CLI wiring import qingshan.cli.ledger without loading SQLAlchemy
    if name in __all__:
        from . import db

        return getattr(db, name)
    raise AttributeError(name)
