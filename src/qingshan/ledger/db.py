"""Opening a ledger: the database URL, the engine settings, and the migrations run on first use.

Where the ledger lives (first match wins):

1. an explicit ``url`` argument;
2. the environment variable ``QINGSHAN_LEDGER_URL`` (e.g. ``postgresql+psycopg://user:pw@host/db``);
3. ``sqlite:///<workspace>/ledger.sqlite`` — the default (docs/design.md#ledger-database: SQLite in WAL mode).

Attachments are always stored in ``<workspace>/ledger-files`` — outside any web root; the API serves them only
through a permission-checked download endpoint.

The ledger holds password hashes and petitioners' names and phones: the SQLite file (and its ``-wal``/``-shm``,
which SQLite creates with the database file's mode) is created 0600 and ``ledger-files`` 0700, and both are
tightened to that when an older workspace is opened. A workspace folder created here is 0700.

On SQLite every connection gets ``journal_mode=WAL`` (readers do not block the writer), ``foreign_keys=ON`` and a
busy timeout. The Alembic migrations shipped in ``qingshan/ledger/migrations`` are applied programmatically by
:func:`upgrade` when a ledger is opened whose recorded revision is not :data:`SCHEMA_HEAD` (a current ledger is
opened without importing Alembic).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ..settings import current as current_settings

LEDGER_FILE = "ledger.sqlite"
FILES_DIR = "ledger-files"
URL_ENV = "QINGSHAN_LEDGER_URL"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: the newest revision in ``migrations/versions`` (tests/test_ledger_startup.py checks it against Alembic's head):
#: a ledger already at it is opened without loading Alembic (~1.8 s per command on the 2-core machine)
SCHEMA_HEAD = "0004"

# SQLite has no DECIMAL type; SQLAlchemy stores REAL and rounds back to the column's scale. Amounts here have at
# most 2 (money) or 4 (indicators) decimals and stay far below 2**53, so the round trip is exact.
warnings.filterwarnings("ignore", message=r"Dialect sqlite\+pysqlite does \*not\* support Decimal objects natively")

_migrate_lock = threading.Lock()


def resolve_url(workspace: Path, url: str | None = None) -> str:
    """The database URL for a workspace (explicit URL, then ``QINGSHAN_LEDGER_URL``, then the workspace file)."""
    if url:
        return url
    if env := current_settings().ledger_url:
        return env
    return f"sqlite:///{(workspace / LEDGER_FILE).resolve()}"


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine with the ledger's per-backend settings."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the shipped migrations up to ``revision`` on ``engine`` (idempotent)."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def stored_revision(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version`` (None for a new database), read with plain SQL."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@dataclass
class Ledger:
    """An opened ledger: engine, session factory and the workspace (for attachments)."""

    workspace: Path
    url: str
    engine: Engine
    sessionmaker: sessionmaker[Session] = field(repr=False)

    @property
    def files_dir(self) -> Path:
        return self.workspace / FILES_DIR

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        s = self.sessionmaker()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if absent; tighten it (and SQLite's companions) to 0600 otherwise."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if p.exists() and p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except PermissionError:  # not ours (a shared deployment): leave it to its owner
            pass


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o700)
    except PermissionError:
        pass


def _sqlite_file(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:" or u.database.startswith("file:"):
        return None
    return Path(u.database)


def open_ledger(workspace: str | os.PathLike[str] | None = None, url: str | None = None, *, migrate: bool = True) -> Ledger:
    """Open (and on first use create or upgrade) the ledger of a workspace."""
    ws = Path(workspace) if workspace is not None else current_settings().workspace
    if not ws.exists():
        ws.mkdir(mode=0o700, parents=True)
    resolved = resolve_url(ws, url)
    if (db_file := _sqlite_file(resolved)) is not None and db_file.parent.is_dir():
        _private_file(db_file)
    _private_dir(ws / FILES_DIR)
    engine = make_engine(resolved)
    if migrate and stored_revision(engine) != SCHEMA_HEAD:
        with _migrate_lock:
            upgrade(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    from .audit import install_guard

    install_guard(factory)  # every session of this ledger refuses to change or delete audit entries
    return Ledger(ws, resolved, engine, factory)
