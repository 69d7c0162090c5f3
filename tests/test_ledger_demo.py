"""The demo ledger reproduces the sources' counts — through the service, the API and the CLI.

Seed 000: 41 rectification tasks, 12 completed as of May 2024; 196 petitions handed over, 194 closed; 涉磷企业
4414 with 80.58 % / 56.03 % / 39.15 %; 134 VOCs cases with 4,711,600 yuan in fines. Seed 001: 36 key tasks.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Optional

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from qingshan.ledger.audit import verify_chain
from qingshan.ledger.demo import build_demo_ledger
from qingshan.ledger.models import EnforcementCase, KeyTask, RectificationItem
from qingshan.ledger.rbac import Principal
from qingshan.ledger.service import LedgerService

from .ledger_fixtures import _backend_url, fast_password_hashing, module_ledger, service  # noqa: F401

pytestmark = pytest.mark.slow  # the demo ledger built on SQLite and PostgreSQL: minutes (CI's slow step)

STABLE_KEYS = ("rectification_items", "rectification_completed", "petitions", "petitions_closed", "key_tasks")
EXPECTED = {"rectification_items": 41, "rectification_completed": 12, "petitions": 196, "petitions_closed": 194,
            "key_tasks": 36}


@pytest.fixture(scope="module")
def demo(module_ledger):
    with module_ledger.session() as s:
        build_demo_ledger(s)
    return module_ledger


def test_counts_through_the_service(demo):
    with demo.session() as s:
        st = LedgerService(s, Principal("bureau", None, "局机关")).stats()
        assert {k: st[k] for k in STABLE_KEYS} == EXPECTED
        assert st["rectification_completion_rate"] == round(12 / 41, 4)
        assert st["by_status"]["rectification"] == {"completed": 12, "in_progress": 29}
        assert st["by_status"]["petition"] == {"closed": 194, "assigned": 2}
        assert st["rectification_by_deadline_kind"] == {"date": 39, "immediate_long_term": 2}
        phos = next(c for c in st["campaigns"] if c["title"] == "涉磷企业整治")
        assert (phos["enterprises"], phos["plan_approved_rate"], phos["remediated_rate"], phos["accepted_rate"]) == (
            4414, 0.8058, 0.5603, 0.3915)
        assert st["enforcement_cases"] == 134 + 1  # + the case filed from the demo dispatch event SJ2024-002
        total = s.execute(select(func.sum(EnforcementCase.penalty_amount))).scalar()
        assert Decimal(total) == Decimal(4711600)
        assert st["projects"] == 7


def test_demo_content(demo):
    with demo.session() as s:
        svc = LedgerService(s, Principal.system())
        items = sorted(svc.list_records(kind="rectification", limit=None).items, key=lambda r: r.seq)
        assert [r.seq for r in items] == list(range(1, 42))
        done = [r.seq for r in items if r.status == "completed"]
        assert done == [9, 10, 11, 21, 22, 24, 26, 27, 28, 35, 39, 40]
        assert all(isinstance(r, RectificationItem) and r.disclosed and r.progress for r in items)
        assert all(r.acceptance_evidence for r in items if r.status == "completed")
        deadlines = {r.seq: (r.deadline_kind, r.deadline and r.deadline.isoformat()) for r in items}
        assert deadlines[1] == ("immediate_long_term", None) and deadlines[13] == ("immediate_long_term", None)
        assert deadlines[3] == ("date", "2024-06-30") and deadlines[2] == ("date", "2025-12-31")
        assert svc.unit_names(items[10], "responsible") == ["市住建局"]  # item 11: construction-site dust
        tasks = sorted(svc.list_records(kind="key_task", limit=None).items, key=lambda r: r.seq)
        assert [t.seq for t in tasks] == list(range(1, 37))
        assert svc.unit_names(tasks[4], "responsible") == ["市应急管理局"]  # task 5: lead 市应急管理局
        assert "市自然资源和规划局" in svc.unit_names(tasks[4], "cooperating")
        t10 = tasks[9]
        assert isinstance(t10, KeyTask)
        assert [(i.name, int(i.target_value)) for i in t10.indicators][1] == ("涉活性炭使用企业整改", 621)
        # the workflow ran: acceptance steps and petition steps are in the audit log, and the chain holds
        assert verify_chain(s).ok
        # public view: the disclosure table and the published aggregate petition counts
        pub = LedgerService(s, Principal.public()).stats()
        assert {k: pub[k] for k in STABLE_KEYS} == EXPECTED


def test_demo_only_on_an_empty_ledger(demo):
    with demo.session() as s, pytest.raises(ValueError, match="已有记录"):
        build_demo_ledger(s)


def test_counts_through_the_api(demo):
    from fastapi.testclient import TestClient

    from qingshan.ledger.app import create_app

    with demo.session() as s:
        service(s).create_user("apiuser", "demo-password-1", "bureau", "常州市生态环境局")
    client = TestClient(create_app(demo.workspace, url=demo.url))
    tok = client.post("/api/v1/auth/token", json={"username": "apiuser", "password": "demo-password-1"}).json()
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    st = client.get("/api/v1/ledger/stats", headers=h).json()
    assert {k: st[k] for k in STABLE_KEYS} == EXPECTED
    assert client.get("/api/v1/ledger/items", headers=h, params={"kind": "petition"}).json()["total"] == 196
    assert client.get("/api/v1/ledger/items", headers=h,
                      params={"kind": "rectification", "status": "completed"}).json()["total"] == 12
    anon = client.get("/api/v1/ledger/stats").json()
    assert {k: anon[k] for k in STABLE_KEYS} == EXPECTED
    assert client.get("/api/v1/ledger/items", params={"kind": "petition"}).json()["total"] == 0


# --- the CLI ---------------------------------------------------------------------------------------------------


def _root_app() -> typer.Typer:
    """A root command shaped like ``qingshan.cli.app`` (global ``--workspace``), with the ledger sub-app added."""
    from qingshan.cli.ledger import ledger_app

    root = typer.Typer()

    @root.callback()
    def main(workspace: Optional[Path] = typer.Option(None, "--workspace", "-w")) -> None:
        pass

    root.add_typer(ledger_app, name="ledger")
    return root


@pytest.fixture(params=["sqlite", "postgresql"])
def cli_env(request, tmp_path, monkeypatch):
    """The workspace folder, and for PostgreSQL the ledger URL in QINGSHAN_LEDGER_URL."""
    for url in _backend_url(request.param, tmp_path):
        if request.param == "postgresql":
            monkeypatch.setenv("QINGSHAN_LEDGER_URL", url)
        else:
            monkeypatch.delenv("QINGSHAN_LEDGER_URL", raising=False)
        yield tmp_path / "ws"


def test_counts_through_the_cli(cli_env):
    runner = CliRunner()
    app = _root_app()
    r = runner.invoke(app, ["--workspace", str(cli_env), "ledger", "demo", "--demo-password", "demo-password-1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--workspace", str(cli_env), "ledger", "stats", "--json"])
    assert r.exit_code == 0, r.output
    st = json.loads(r.stdout)
    assert {k: st[k] for k in STABLE_KEYS} == EXPECTED
    # a second demo refuses, and leaves the ledger as it was
    r = runner.invoke(app, ["--workspace", str(cli_env), "ledger", "demo"])
    assert r.exit_code == 1
    r = runner.invoke(app, ["--workspace", str(cli_env), "ledger", "stats", "--json", "--as-of", "2024-05-31"])
    st = json.loads(r.stdout)
    assert st["as_of"] == "2024-05-31" and st["rectification_overdue"] == 0
    out = cli_env / "out.xlsx"
    assert runner.invoke(app, ["--workspace", str(cli_env), "ledger", "export", str(out)]).exit_code == 0
    r = runner.invoke(app, ["--workspace", str(cli_env), "ledger", "import", str(out), "--json"])
    rep = json.loads(r.stdout)
    assert r.exit_code == 0 and (rep["rows"], rep["unchanged"], rep["created"]) == (41, 41, 0)
    r = runner.invoke(app, ["--workspace", str(cli_env), "ledger", "import", str(out), "--as", "zjj", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["unchanged"] == 41  # unchanged rows need no permission
    assert runner.invoke(app, ["--workspace", str(cli_env), "ledger", "export", str(cli_env / "p.xlsx"),
                               "--public"]).exit_code == 0
    r = runner.invoke(app, ["--workspace", str(cli_env), "ledger", "audit", "--verify"])
    assert r.exit_code == 0 and "哈希链一致" in r.output
    r = runner.invoke(app, ["--workspace", str(cli_env), "ledger", "users", "add", "li", "--role", "department",
                            "--unit", "市水利局", "--password", "another-pass-1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--workspace", str(cli_env), "ledger", "users", "add", "li", "--role", "department",
                            "--unit", "市水利局", "--password", "another-pass-1"])
    assert r.exit_code == 2 and "已存在" in r.output
    r = runner.invoke(app, ["--workspace", str(cli_env), "ledger", "users", "add", "x", "--role", "district",
                            "--password", "another-pass-1"])
    assert r.exit_code == 2
    assert "li" in runner.invoke(app, ["--workspace", str(cli_env), "ledger", "users", "list"]).output


def test_the_main_cli_when_wired(tmp_path, monkeypatch):
    """``qingshan --workspace DIR ledger stats --json`` through the real entry point, once it mounts ledger_app."""
    from qingshan import cli as main_cli

    names = {g.name for g in main_cli.app.registered_groups}
    if "ledger" not in names:
        pytest.skip("qingshan.cli.app does not mount ledger_app yet (wiring described in docs/ledger.md)")
    monkeypatch.delenv("QINGSHAN_LEDGER_URL", raising=False)
    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(main_cli.app, ["--workspace", str(ws), "ledger", "demo"]).exit_code == 0
    r = runner.invoke(main_cli.app, ["--workspace", str(ws), "ledger", "stats", "--json"])
    assert {k: json.loads(r.stdout)[k] for k in STABLE_KEYS} == EXPECTED
