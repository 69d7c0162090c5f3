"""Passwords (argon2id, docs/design.md#web), user names and API bearer tokens.

User names are ASCII (letters, digits, ``. _ @ -``) and compared without regard to case: ``BUREAU`` signs in as
``bureau`` and cannot be created next to it (unique index on ``lower(username)``, migration 0002) — ASCII, so that
``lower()`` means the same on SQLite and PostgreSQL.

Tokens are 256-bit random strings handed out once by ``POST /api/v1/auth/token``; the database keeps only their
SHA-256, so a leaked database does not leak usable tokens. A token expires after ``TOKEN_TTL`` (default 12 h,
``QINGSHAN_LEDGER_TOKEN_HOURS``) and dies with its user's deactivation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..settings import current as current_settings
from .models import ApiToken, User, now_beijing

_hasher = PasswordHasher()
_dummy: tuple[PasswordHasher, str] | None = None
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes any length; a megabyte "password" is an attack, not a secret
USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def check_username(username: object) -> str:
    """``username`` stripped, or the ledger's ValidationFailed when it is not a valid user name."""
    from .limits import ValidationFailed

    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username.strip()):
        raise ValidationFailed("用户名只能由英文字母、数字和 . _ @ - 组成，以字母或数字开头，最多 64 个字符")
    return username.strip()


def token_ttl() -> dt.timedelta:
    return dt.timedelta(hours=current_settings().token_hours)


def hash_password(password: str) -> str:
    """The argon2 hash of a new password; ValueError (Chinese message) if it breaks the rules."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"密码不能超过 {MAX_PASSWORD_LENGTH} 个字符")
    return _hasher.hash(password)


def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so that unknown names take as long as wrong
    passwords. Made on first use by the hasher in use (same cost as real hashes), not at import: one argon2 hash
    takes ~0.7 s, which every ``qingshan ledger`` command used to pay for nothing."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("qingshan-dummy-password"))
    return _dummy[1]


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name (ignoring case) and password, or None. Rehashes when argon2's parameters
    changed."""
    user = session.execute(select(User).where(func.lower(User.username) == username.strip().lower())
                           ).scalar_one_or_none() if len(username) <= 64 else None
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""  # still verified (same timing), never matches
    try:
        _hasher.verify(user.password_hash if user is not None else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User) -> tuple[str, dt.datetime]:
    token = secrets.token_urlsafe(32)
    expires = now_beijing() + token_ttl()
    session.add(ApiToken(user_id=user.id, token_hash=_digest(token), expires_at=expires))
    session.flush()
    return token, expires


def user_for_token(session: Session, token: str) -> User | None:
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now_beijing() or not row.user.active:
        return None
    return row.user


def revoke_user_tokens(session: Session, user_id: int, *, except_token: str | None = None) -> int:
    """Revoke every live token (API tokens and console sessions) of a user but ``except_token``; return how many."""
    stmt = (update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
                                   ApiToken.expires_at > now_beijing())
            .values(revoked_at=now_beijing()).execution_options(synchronize_session=False))
    if except_token is not None:
        stmt = stmt.where(ApiToken.token_hash != _digest(except_token))
    return session.execute(stmt).rowcount or 0


def revoke_token(session: Session, token: str) -> bool:
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now_beijing()
    return True
