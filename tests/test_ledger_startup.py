"""What a ledger command costs before it does anything, and how the service is assembled.

Issue 12 measured ~10 s per ``qingshan ledger`` command. Besides the CLI's own imports (the main CLI's job), three
costs were the ledger's: importing :mod:`qingshan.cli.ledger` loaded DuckDB and pyarrow through
``store.workspace``; every open ran Alembic (~1.8 s: its import and the migration context) on a ledger already
current; and importing :mod:`qingshan.ledger.auth` computed an argon2 hash (~0.7 s) for the timing-equalising
dummy. These tests pin each fix, and that the fixes change nothing else (schema head, upgrades, dummy hash).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from argon2 import PasswordHasher
from typer.testing import CliRunner

from qingshan.ledger import auth, db
from qingshan.ledger.db import SCHEMA_HEAD, current_revision, make_engine, open_ledger, stored_revision, upgrade
from qingshan.ledger.models import KINDS
from qingshan.ledger.service import EFFECTS, LedgerService
from qingshan.ledger.workflow import MACHINES
from qingshan.settings import Settings

from .ledger_fixtures import _backend_url, fast_password_hashing, ledger, ledger_url, workspace  # noqa: F401


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


def test_schema_head_is_the_newest_migration():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(db.MIGRATIONS)).get_current_head() == SCHEMA_HEAD


def test_a_current_ledger_opens_without_alembic(ledger_url, workspace, monkeypatch):
    open_ledger(workspace, ledger_url).dispose()  # creates and migrates

    def no_migration(engine, revision="head"):
        raise AssertionError("Alembic ran on a ledger already at the head revision")

    monkeypatch.setattr(db, "upgrade", no_migration)
    lg = open_ledger(workspace, ledger_url)
    try:
        assert stored_revision(lg.engine) == SCHEMA_HEAD
    finally:
        lg.dispose()


def test_an_older_ledger_is_still_upgraded_on_open(ledger_url, workspace):
    engine = make_engine(ledger_url)
    try:
        assert stored_revision(engine) is None
        upgrade(engine, "0001")
        assert stored_revision(engine) == "0001"
    finally:
        engine.dispose()
    lg = open_ledger(workspace, ledger_url)
    try:
        assert current_revision(lg.engine) == SCHEMA_HEAD
    finally:
        lg.dispose()


def test_importing_auth_hashes_nothing():
    r = _python("""
        import argon2

        def refuse(self, *args, **kwargs):
            raise SystemExit("argon2 hash computed at import")

        argon2.PasswordHasher.hash = refuse
        import qingshan.ledger.auth
    """)
    assert r.returncode == 0, r.stderr[-2000:]


def test_unknown_users_are_verified_against_a_dummy_of_the_hasher_in_use(monkeypatch):
    """An unknown name still costs one verification, against a dummy made lazily by the hasher in use (so its cost
    matches real users' hashes; the old import-time dummy kept argon2's default cost whatever the hasher)."""
    hasher = PasswordHasher(time_cost=1, memory_cost=2048, parallelism=1)
    calls: list[str] = []

    class Spy:
        def __getattr__(self, name: str):
            return getattr(hasher, name)

        def verify(self, hash_: str, password: str) -> bool:
            calls.append(hash_)
            return hasher.verify(hash_, password)

    monkeypatch.setattr(auth, "_hasher", Spy())
    session = SimpleNamespace(execute=lambda stmt: SimpleNamespace(scalar_one_or_none=lambda: None))
    assert auth.authenticate(session, "nobody", "some-password") is None  # type: ignore[arg-type]
    assert auth.authenticate(session, "nobody", "other-password") is None  # type: ignore[arg-type]
    assert len(calls) == 2 and calls[0] == calls[1]
    assert calls[0].startswith("$argon2id$v=19$m=2048,t=1,p=1$")


def test_the_ledger_cli_imports_only_light_modules():
    r = _python("""
        import sys
        import qingshan.cli.ledger
        heavy = sorted(m for m in ("sqlalchemy", "alembic", "argon2", "duckdb", "pandas", "pyarrow", "numpy",
                                   "openpyxl", "fastapi") if m in sys.modules)
        print(",".join(heavy))
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == ""


def test_the_workspace_comes_from_the_root_context_object(tmp_path, monkeypatch):
    """The main CLI puts ``workspace`` and ``settings`` on ``ctx.obj`` (issue 12's CLI contract); no module state."""
    from qingshan.cli.ledger import ledger_app

    monkeypatch.delenv("QINGSHAN_LEDGER_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    ws = tmp_path / "from-context"
    root = typer.Typer()

    @root.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = SimpleNamespace(workspace=ws, settings=Settings(workspace=ws))

    root.add_typer(ledger_app, name="ledger")
    r = CliRunner().invoke(root, ["ledger", "stats", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["rectification_items"] == 0
    assert (ws / "ledger.sqlite").is_file()
    assert not (tmp_path / "qingshan-workspace").exists()


def test_without_a_context_object_the_settings_name_the_workspace(tmp_path, monkeypatch):
    from qingshan.cli.ledger import ledger_app

    monkeypatch.delenv("QINGSHAN_LEDGER_URL", raising=False)
    monkeypatch.setenv("QINGSHAN_WORKSPACE", str(tmp_path / "from-env"))
    r = CliRunner().invoke(ledger_app, ["stats", "--json"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "from-env" / "ledger.sqlite").is_file()


def test_every_kind_with_transitions_has_an_effect():
    with_transitions = [k for k in KINDS if MACHINES[k].transitions]
    assert with_transitions and set(with_transitions) <= set(EFFECTS)
    assert set(EFFECTS) <= set(KINDS)


def test_the_service_takes_effects_from_the_table_only():
    """No ``getattr`` by kind name is left: a kind's effect is found in :data:`EFFECTS` or nowhere."""
    assert not [n for n in dir(LedgerService) if n.startswith("_effect_")]
    source = Path(sys.modules[LedgerService.__module__].__file__).parent  # type: ignore[arg-type]
    assert not [p.name for p in source.glob("*.py") if 'f"_effect_' in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("name", ["LedgerService", "Page", "AlreadyExists", "WorkflowError", "VersionConflict",
                                  "ValidationFailed", "LedgerError", "NotFound", "PermissionDenied", "to_date",
                                  "latest_value", "indicator_met", "campaign_rates_from_counts", "EVIDENCE_LABELS"])
def test_the_facade_keeps_its_names(name):
    import qingshan.ledger.service as service

    assert hasattr(service, name)


def test_ledger_errors_are_qingshan_errors():
    from qingshan.errors import QingshanError
    from qingshan.ledger.service import AlreadyExists, LedgerError, ValidationFailed

    assert issubclass(LedgerError, QingshanError) and issubclass(ValidationFailed, QingshanError)
    assert issubclass(AlreadyExists, Exception)
