"""Browser sessions and CSRF protection of the console.

* **Session.** ``POST /login`` checks the password (:func:`qingshan.ledger.auth.authenticate`) and issues an
  ordinary ledger token (:func:`qingshan.ledger.auth.issue_token`: only its SHA-256 is stored, it expires, it dies
  with the user's deactivation) and sets it as the cookie ``qs_session`` — HttpOnly, SameSite=Lax, Path=/, and
  Secure when the console is served over HTTPS (``secure_cookies``). ``POST /logout`` revokes it.
* **CSRF.** The CSRF token of a session is ``HMAC-SHA256(server secret, "csrf:" + session token)``; the server
  secret is 32 random bytes kept in ``<workspace>/console-secret`` (created 0600 on first start). Every form POST
  carries it in the hidden field ``csrf``; API calls authenticated by the cookie carry it in ``X-CSRF-Token``
  (checked by :func:`qingshan.ledger.api.get_ctx` through ``app.state.csrf_verify``). The login form, used before
  any session exists, is bound to a random pre-session cookie ``qs_pre`` the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE = "console-secret"
PRE_COOKIE = "qs_pre"
CSRF_FIELD = "csrf"


def load_secret(workspace: Path) -> bytes:
    """The workspace's console secret, created on first use (readable by the owner only)."""
    path = workspace / SECRET_FILE
    if path.exists():
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    data = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return data


def csrf_token(secret: bytes, session_token: str) -> str:
    return hmac.new(secret, b"csrf:" + session_token.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_valid(secret: bytes, session_token: str | None, supplied: str | None) -> bool:
    if not session_token or not supplied:
        return False
    return hmac.compare_digest(csrf_token(secret, session_token), supplied)


def login_token(secret: bytes, pre_session: str) -> str:
    """CSRF token of the login form, bound to the pre-session cookie."""
    return csrf_token(secret, "pre:" + pre_session)


def new_pre_session() -> str:
    return secrets.token_urlsafe(24)


def safe_next(target: str | None) -> str:
    """A same-origin path to go to after login (anything else becomes ``/``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
