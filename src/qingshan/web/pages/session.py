"""Dependencies of the pages that accept forms: the caller (cookie or bearer, like the API) and the CSRF check of
the form's hidden ``csrf`` field (see :mod:`qingshan.web.security`)."""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from ...ledger.api import Ctx, bearer, get_session, resolve_ctx
from ..console import Console
from ..security import csrf_valid

CSRF_FAILED = "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试"


def page_ctx(request: Request, session: Session = Depends(get_session),
             cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Ctx:
    """The caller of a form POST; its CSRF token is checked by :func:`require_form_csrf` (in the form body, not a
    header)."""
    return resolve_ctx(request, session, cred)


def require_form_csrf(console: Console, ctx: Ctx, supplied: str | None) -> None:
    if ctx.anonymous:
        raise HTTPException(401, "请先登录")
    if ctx.cookie_token is not None and not csrf_valid(console.secret, ctx.cookie_token, supplied):
        raise HTTPException(403, CSRF_FAILED)
