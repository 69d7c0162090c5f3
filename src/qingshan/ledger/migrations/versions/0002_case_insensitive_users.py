"""User names and display names unique ignoring case.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

``BUREAU`` must not be creatable next to ``bureau`` (nor sign in as a different account), and no two users may
show the same display name in the audit log (docs/ledger.md#users). Both get a unique index on ``lower(...)``
(an expression index: SQLite ≥ 3.9 and PostgreSQL).

Existing data: display names that clash ignoring case are made unique by appending the user name to the later
ones ("张三" → "张三（zhangsan）"): display names are labels, and the old entries of the audit log keep the name
shown at the time. User names that clash ignoring case are **not** renamed — that would silently change how
somebody signs in — so the migration stops with a message naming them; rename one (``UPDATE users SET username
= ... WHERE id = ...``) and open the ledger again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _check_usernames(bind: sa.Connection) -> None:
    rows = bind.execute(sa.text("SELECT id, username FROM users ORDER BY id")).all()
    seen: dict[str, str] = {}
    clashes = []
    for _, name in rows:
        key = name.lower()
        if key in seen:
            clashes.append(f"{seen[key]} / {name}")
        else:
            seen[key] = name
    if clashes:
        raise RuntimeError("台账升级（迁移 0002）中止：以下用户名仅大小写不同，用户名今后不区分大小写，请先将其中一个改名"
                           f"（UPDATE users SET username = '新名' WHERE username = '…'）：{'；'.join(clashes)}")


def _dedupe_display_names(bind: sa.Connection) -> None:
    rows = bind.execute(sa.text("SELECT id, username, display_name FROM users ORDER BY id")).all()
    seen = {dn.lower() for _, _, dn in rows}
    taken: set[str] = set()
    for uid, username, dn in rows:
        if dn.lower() not in taken:
            taken.add(dn.lower())
            continue
        new = f"{dn}（{username}）"[:100]
        n = 2
        while new.lower() in taken or new.lower() in seen:
            new = f"{dn}（{username}-{n}）"[:100]
            n += 1
        bind.execute(sa.text("UPDATE users SET display_name = :dn WHERE id = :id"), {"dn": new, "id": uid})
        taken.add(new.lower())


def upgrade() -> None:
    bind = op.get_bind()
    _check_usernames(bind)
    _dedupe_display_names(bind)
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    op.create_index("uq_users_display_name_lower", "users", [sa.text("lower(display_name)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_display_name_lower", table_name="users")
    op.drop_index("uq_users_username_lower", table_name="users")
