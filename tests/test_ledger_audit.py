"""The audit log: every change recorded with before/after; nothing — service, ORM or raw SQL — can rewrite it."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from qingshan.ledger.audit import AuditImmutable, verify_chain
from qingshan.ledger.db import current_revision, open_ledger, upgrade
from qingshan.ledger.models import AuditEntry, Base

from .ledger_fixtures import (  # noqa: F401
    fast_password_hashing,
    ledger,
    ledger_url,
    org,
    principal_of,
    service,
    workspace,
)


def _entries(s, **where):
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditEntry, k) == v)
    return s.execute(stmt).scalars().all()


def test_every_change_is_logged_with_before_and_after(ledger, org):
    with ledger.session() as s:
        zj = service(s, principal_of(s, "zj"), ledger=ledger)
        n0 = len(_entries(s))
        zj.update_record(org.a, {"measures": "每周巡查"})
        zj.add_progress(org.a, "完成第一轮巡查", files=[("r.txt", "巡查记录".encode())])
        zj.transition(org.a, "submit", {"completion_note": "完成"})
        zj.update_record(org.a, {"measures": "每周巡查"})  # no change → no entry
        new = _entries(s)[n0:]
        assert [e.action for e in new] == ["record.update", "progress.add", "transition.submit"]
        upd, prog, step = new
        assert upd.before == {"measures": "加强巡查"} and upd.after == {"measures": "每周巡查"}
        assert upd.actor_name == "zj" and upd.actor_role == "department" and upd.actor_id is not None
        assert upd.record_id == org.a and upd.at.tzinfo is not None
        assert prog.after["text"] == "完成第一轮巡查" and prog.after["attachments"][0]["filename"] == "r.txt"
        assert step.before == {"status": "in_progress", "completion_note": None}
        assert step.after["status"] == "submitted"
        assert upd.record_version < prog.record_version < step.record_version
        # creation of units, users and records is logged too, without password hashes
        created = _entries(s, action="user.create")
        assert created and all("password" not in str(e.after) for e in created)


def test_personal_data_is_not_copied_into_the_log(ledger, org):
    with ledger.session() as s:
        bureau = service(s, principal_of(s, "bureau"))
        bureau.update_record(org.petition, {"contact": "13900000000"})
        for e in _entries(s, record_id=org.petition):
            assert "13800000000" not in str(e.after) and "13900000000" not in str(e.after)
            assert "张三" not in str(e.after)


def test_service_layer_refuses_to_change_or_delete_entries(ledger, org):
    s = ledger.sessionmaker()
    try:
        service(s)  # installs the guard on this session
        e = _entries(s)[0]
        e.note = "rewritten"
        with pytest.raises(AuditImmutable):
            s.flush()
        s.rollback()
        e = _entries(s)[0]
        s.delete(e)
        with pytest.raises(AuditImmutable):
            s.flush()
    finally:
        s.rollback()
        s.close()


def _assert_orm_guard_refuses(factory) -> None:
    """A session of ``factory`` that rewrites an audit entry is refused by the ORM guard, before the database."""
    s = factory()
    try:
        _entries(s)[0].note = "rewritten"
        with pytest.raises(AuditImmutable):
            s.flush()
    finally:
        s.rollback()
        s.close()


def test_every_ledger_session_is_guarded_and_the_triggers_back_it_up(ledger, org):  # noqa: F811
    from sqlalchemy.orm import Session

    # a session of the ledger's factory, without any service: the ORM guard refuses
    _assert_orm_guard_refuses(ledger.sessionmaker)
    # a session made by other code on the same engine: the database triggers refuse
    with Session(ledger.engine) as s:
        e = _entries(s)[0]
        e.note = "rewritten"
        with pytest.raises(DBAPIError, match="append-only"):
            s.flush()
        s.rollback()


def test_a_forked_chain_is_refused(ledger, org):  # noqa: F811
    from qingshan.ledger.audit import entry_hash
    from qingshan.ledger.models import now_beijing

    with ledger.session() as s:
        last = _entries(s)[-1]
        prev = last.prev_hash  # a second writer that read the same "last hash" as the entry before it
    with pytest.raises(DBAPIError):
        with ledger.engine.begin() as conn:
            at = now_beijing()
            conn.execute(AuditEntry.__table__.insert().values(
                at=at, actor_name="x", actor_role="admin", action="test", entity_type="t", prev_hash=prev,
                hash=entry_hash(prev, at, None, "x", "admin", "test", "t", None, None, None, None, None, None)))


@pytest.mark.parametrize("sql", [
    "UPDATE audit_log SET note = 'x'",
    "UPDATE audit_log SET actor_name = 'someone else' WHERE id = 1",
    "DELETE FROM audit_log",
    "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
])
def test_raw_sql_cannot_rewrite_the_log(ledger, org, sql):
    before = None
    with ledger.engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), max(hash) FROM audit_log")).one()
    with pytest.raises(DBAPIError, match="append-only"), ledger.engine.begin() as conn:
        conn.execute(text(sql))
    with ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), max(hash) FROM audit_log")).one() == before
    with ledger.session() as s:
        assert verify_chain(s).ok


def test_truncate_refused_on_postgresql(ledger, org):
    if ledger.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is a PostgreSQL statement (SQLite has none; its DELETE trigger covers it)")
    with pytest.raises(DBAPIError, match="append-only"), ledger.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))


def test_hash_chain_detects_a_rewrite_that_bypassed_the_triggers(ledger, org):
    with ledger.session() as s:
        report = verify_chain(s)
        assert report.ok and report.entries == s.execute(select(func.count()).select_from(AuditEntry)).scalar()
        target = _entries(s)[3].id
    # an attacker with owner rights switches the protection off and edits an entry …
    with ledger.engine.begin() as conn:
        if ledger.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE audit_log SET actor_name = 'nobody' WHERE id = :i"), {"i": target})
    # … and the chain names the entry
    with ledger.session() as s:
        report = verify_chain(s)
        assert not report.ok and report.first_bad_id == target


def test_hash_chain_detects_a_deleted_entry(ledger, org):
    with ledger.session() as s:
        target = _entries(s)[2].id
    with ledger.engine.begin() as conn:
        if ledger.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": target})
    with ledger.session() as s:
        report = verify_chain(s)
        assert not report.ok and report.first_bad_id == target + 1


def test_no_api_route_writes_the_audit_log(ledger_url, workspace, org):
    from fastapi.testclient import TestClient

    from qingshan.ledger.app import create_app

    paths = TestClient(create_app(workspace, url=ledger_url)).get("/api/v1/openapi.json").json()["paths"]
    audit_paths = {p: set(ops) for p, ops in paths.items() if "audit" in p}
    assert audit_paths == {"/api/v1/ledger/audit": {"get"}}


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # SQLite cannot reflect the lower(...) indexes
def test_migrations_match_the_models_and_are_idempotent(ledger):
    assert current_revision(ledger.engine) == "0004"
    upgrade(ledger.engine)  # again: no-op
    with ledger.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_ledger_url_from_the_environment(ledger_url, workspace, monkeypatch):
    monkeypatch.setenv("QINGSHAN_LEDGER_URL", ledger_url)
    lg = open_ledger(workspace)
    try:
        assert lg.url == ledger_url
        assert current_revision(lg.engine) == "0004"
        if ledger_url.startswith("sqlite"):
            with lg.engine.connect() as conn:
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        lg.dispose()
    monkeypatch.delenv("QINGSHAN_LEDGER_URL")
    default = open_ledger(workspace / "other")
    try:
        assert default.url.endswith("other/ledger.sqlite") and (workspace / "other" / "ledger.sqlite").exists()
    finally:
        default.dispose()


def test_concurrent_writers_keep_one_linear_chain(ledger, org):  # noqa: F811
    import threading

    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                with ledger.session() as s:
                    service(s, principal_of(s, "zj")).add_progress(org.a, f"线程{n}第{i}次进展")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with ledger.session() as s:
        assert len(_entries(s, action="progress.add")) == 20
        assert verify_chain(s).ok


def test_the_guard_is_installed_even_when_the_event_registry_says_it_is_there(ledger, org, monkeypatch):  # noqa: F811
    """SQLAlchemy's registry keys listeners by ``id()``: a new factory at the address of a collected one looked
    guarded already, and the ORM guard was silently missing. The guard no longer asks the registry."""
    from sqlalchemy import event
    from sqlalchemy.orm import sessionmaker

    from qingshan.ledger.audit import install_guard

    monkeypatch.setattr(event, "contains", lambda *a, **k: True)  # the stale answer
    factory = sessionmaker(ledger.engine)
    install_guard(factory)
    install_guard(factory)  # once is enough: a second call adds nothing
    _assert_orm_guard_refuses(factory)
