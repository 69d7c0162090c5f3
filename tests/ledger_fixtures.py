"""Fixtures shared by the ``tests/test_ledger_*.py`` files (imported by them; tests/conftest.py is left alone).

Every database fixture is parametrised over the two backends the ledger supports:

* ``sqlite`` — a fresh ``ledger.sqlite`` in the test's temporary workspace (always runs);
* ``postgresql`` — a fresh schema in the database named by ``QINGSHAN_TEST_PG_URL`` (e.g. the URL printed by
  ``bash .ci/postgres.sh``), dropped afterwards; skipped, with the reason, when the variable is unset.

The migrations run on every fresh database exactly as in production (``open_ledger`` on first use).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from qingshan.ledger import auth
from qingshan.ledger.db import Ledger, open_ledger
from qingshan.ledger.files import FileStore
from qingshan.ledger.models import User
from qingshan.ledger.rbac import Principal
from qingshan.ledger.service import LedgerService

PG_ENV = "QINGSHAN_TEST_PG_URL"
PG_SKIP = (f"PostgreSQL not configured: set {PG_ENV} to a database URL (bash .ci/postgres.sh starts a local server "
           "from the Debian package and prints one)")
BACKENDS = ["sqlite", "postgresql"]
TODAY = dt.date(2024, 5, 31)
PASSWORD = "correct-horse-42"


def _pg_schema_url(base: str, schema: str) -> str:
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def _backend_url(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'ledger.sqlite'}"
        return
    base = os.environ.get(PG_ENV, "").strip()
    if not base:
        pytest.skip(PG_SKIP)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin_url = make_url(base)
    if admin_url.drivername == "postgresql":
        admin_url = admin_url.set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Cheap argon2 parameters in tests (production keeps argon2-cffi's defaults; test_ledger_api checks them)."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(params=BACKENDS)
def ledger_url(request, tmp_path) -> Iterator[str]:
    yield from _backend_url(request.param, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def module_ledger(request, tmp_path_factory) -> Iterator[Ledger]:
    """A ledger shared by a module's tests (for tests that roll their changes back)."""
    folder = tmp_path_factory.mktemp("ledger")
    for url in _backend_url(request.param, folder):
        lg = open_ledger(folder / "ws", url)
        yield lg
        lg.dispose()


@pytest.fixture
def workspace(tmp_path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    return ws


@pytest.fixture
def ledger(ledger_url, workspace) -> Iterator[Ledger]:
    lg = open_ledger(workspace, ledger_url)
    yield lg
    lg.dispose()


def service(session, principal: Principal | None = None, ledger: Ledger | None = None,
            today: dt.date = TODAY) -> LedgerService:
    files = FileStore(ledger.files_dir) if ledger is not None else None
    return LedgerService(session, principal or Principal.system(), today=today, files=files)


def principal_of(session, username: str) -> Principal:
    if username == "public":
        return Principal.public()
    user = session.execute(select(User).where(User.username == username)).scalar_one()
    return Principal.of(user)


@dataclass
class Org:
    """A small organisation with one user per role and records of every kind.

    Units: 常州市生态环境局 (bureau); 市住建局 (zj), 市水利局 (sl), 市交通运输局 (jt) departments; 武进区 (with
    湟里镇) and 新北区 districts. Users: admin, bureau, zj, sl, jt, wujin, xinbei (+ the anonymous public).

    ``a``: rectification item, responsible 市住建局 (lead) + 湟里镇, cooperating 市水利局, district 武进区, not
    disclosed; 湟里镇 and 市水利局 have reported their parts (so 市住建局 may submit it).
    ``b``: rectification item, responsible 市水利局, district 新北区, disclosed.
    ``task``/``project``/``campaign``/``petition``/``case``: one of each kind, responsible 市水利局 (新北区).
    """

    a: int
    b: int
    task: int
    indicator: int
    project: int
    milestone: int
    campaign: int
    enterprise: int
    petition: int
    case: int
    own_task: int
    own_indicator: int


def workspace_with_org(ws: Path) -> None:
    """Create the ledger of workspace ``ws`` with :func:`build_org`'s units and users (cheap password hashes), for
    a console started on it as its own process."""
    mp = pytest.MonkeyPatch()
    mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    lg = open_ledger(ws)
    try:
        build_org(lg)
    finally:
        lg.dispose()
        mp.undo()


def build_org(lg: Ledger) -> Org:
    with lg.session() as s:
        svc = service(s, ledger=lg)
        svc.create_unit("sthjj", "常州市生态环境局", "bureau")
        svc.create_unit("zjj", "市住建局", "department")
        svc.create_unit("slj", "市水利局", "department")
        svc.create_unit("jtj", "市交通运输局", "department")
        svc.create_unit("wj", "武进区", "district")
        svc.create_unit("xb", "新北区", "district")
        svc.create_unit("wj-hl", "湟里镇", "town", parent="武进区")
        for name, role, unit in (("admin", "admin", None), ("bureau", "bureau", "常州市生态环境局"),
                                 ("zj", "department", "市住建局"), ("sl", "department", "市水利局"),
                                 ("jt", "department", "市交通运输局"), ("wujin", "district", "武进区"),
                                 ("xinbei", "district", "新北区")):
            svc.create_user(name, PASSWORD, role, unit)
        a = svc.create_rectification(seq=1, source_inspection="测试督察", problem="工地扬尘监管不到位", title="工地扬尘",
                                     deadline="2024-12-31", start_date="2023-07-31", responsible=["市住建局", "湟里镇"],
                                     cooperating=["市水利局"], lead=["市住建局"], district="武进区", measures="加强巡查")
        # the co-units' parts are in, so the lead (市住建局) may submit the whole item (test_ledger_parts.py)
        svc.report_part(a.id, "湟里镇辖区工地已整改", unit="湟里镇")
        svc.report_part(a.id, "配合完成河道沿线工地巡查", unit="市水利局")
        b = svc.create_rectification(seq=2, source_inspection="测试督察", problem="河道水质差", title="河道水质",
                                     deadline="2024-06-30", start_date="2023-07-31", responsible=["市水利局"],
                                     district="新北区", disclosed=True, disclosure_text="按序时推进")
        task = svc.create_key_task(seq=1, plan="测试方案", year=2024, title="支浜消劣", responsible=["市水利局"],
                                   indicators=[{"name": "消劣支浜", "target": 10, "unit": "条"}])
        own_task = svc.create_key_task(seq=2, plan="测试方案", year=2024, title="工地扬尘管控", responsible=["市住建局"],
                                       indicators=[{"name": "智慧工地", "target": 5, "unit": "个"}])
        project = svc.create_project(title="污水处理厂扩建", responsible=["市水利局"], district="新北区",
                                     planned_investment=1000, milestones=[{"name": "主体结构"}], status="under_construction")
        campaign = svc.create_campaign(title="涉磷企业整治", responsible=["市水利局"], district="新北区")
        svc.add_enterprises(campaign.id, [{"name": "企业甲", "district": "新北区"}])
        petition = svc.create_petition(channel="hotline_12369", received_on="2024-05-06", content="夜间噪声",
                                       complainant="张三", contact="13800000000", district="新北区")
        svc.transition(petition.id, "accept", {"on": "2024-05-07"})
        svc.transition(petition.id, "assign", {"unit_ids": ["市水利局"], "on": "2024-05-08"})
        case = svc.create_case(party="某企业", violation="超标排放", filed_on="2024-03-01", responsible=["市水利局"],
                               district="新北区")
        s.flush()
        return Org(a.id, b.id, task.id, task.indicators[0].id, project.id, project.milestones[0].id, campaign.id,
                   campaign.enterprises[0].id, petition.id, case.id, own_task.id, own_task.indicators[0].id)


@pytest.fixture
def org(ledger) -> Org:
    return build_org(ledger)
