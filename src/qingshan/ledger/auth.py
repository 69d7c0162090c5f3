"""Passwords (argon2id, DESIGN.md "Stack: Web") and API bearer tokens.

Tokens are 256-bit random strings handed out once by ``POST /api/v1/auth/token``; the database keeps only their
SHA-256, so a leaked database does not leak usable tokens. A token expires after ``TOKEN_TTL`` (default 12 h,
``QINGSHAN_LEDGER_TOKEN_HOURS``) and dies with its user's deactivation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiToken, User, now_beijing

_hasher = PasswordHasher()
# verified against when the user does not exist, so that unknown names take as long as wrong passwords
_DUMMY_HASH = _hasher.hash("qingshan-dummy-password")
MIN_PASSWORD_LENGTH = 8


def token_ttl() -> dt.timedelta:
    return dt.timedelta(hours=float(os.environ.get("QINGSHAN_LEDGER_TOKEN_HOURS", "12")))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    return _hasher.hash(password)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None. Rehashes when argon2's parameters changed."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    try:
        _hasher.verify(user.password_hash if user is not None else _DUMMY_HASH, password)
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


def revoke_token(session: Session, token: str) -> bool:
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now_beijing()
    return True
