"""Alembic environment of the ledger (run programmatically by :func:`qingshan.ledger.db.upgrade`).

When the caller passes a connection in ``config.attributes["connection"]`` the migrations run on it (inside the
caller's transaction); otherwise an engine is built from ``sqlalchemy.url`` (developer use:
``alembic -x url=... upgrade head`` with a config pointing ``script_location`` here).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from qingshan.ledger.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
