"""``/login``, ``/logout`` and ``/account/password`` (change one's own password): the browser session of
:mod:`qingshan.web.security`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ...ledger import auth
from ...ledger.api import SESSION_COOKIE, Ctx, change_own_password, get_ctx, get_session
from ...ledger.rbac import LedgerError, PermissionDenied
from ...ledger.throttle import THROTTLED, client_address
from ..console import Console, get_console
from ..security import PRE_COOKIE, csrf_valid, login_token, new_pre_session, safe_next
from .render import render
from .session import CSRF_FAILED, page_ctx, require_form_csrf

router = APIRouter(include_in_schema=False)


def _login_page(request: Request, console: Console, next_path: str, error: str = "", status: int = 200,
                username: str = "", ctx: Ctx | None = None) -> HTMLResponse:
    pre = request.cookies.get(PRE_COOKIE) or new_pre_session()
    resp = render(request, "login.html", ctx, title="登录", status_code=status, next=safe_next(next_path),
                  csrf=login_token(console.secret, pre), error=error, username=username)
    resp.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="lax", secure=request.app.state.secure_cookies,
                    path="/login", max_age=3600)
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", console: Console = Depends(get_console),
               ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    return _login_page(request, console, next, ctx=ctx)


@router.post("/login")
def login_submit(request: Request, username: str = Form(""), password: str = Form(""), csrf: str = Form(""),
                 next: str = Form("/"), console: Console = Depends(get_console),
                 session: Session = Depends(get_session)) -> Response:
    pre = request.cookies.get(PRE_COOKIE)
    if not pre or not csrf_valid(console.secret, "pre:" + pre, csrf):
        return _login_page(request, console, next, CSRF_FAILED, 403, username)
    if not username or not password:
        return _login_page(request, console, next, "请输入用户名和密码", 422, username)
    throttle, address = request.app.state.login_throttle, client_address(request)
    if (wait := throttle.retry_after(username, address)) is not None:
        resp = _login_page(request, console, next, THROTTLED.format(seconds=wait), 429, username)
        resp.headers["Retry-After"] = str(wait)
        return resp
    user = auth.authenticate(session, username, password)
    if user is None:
        session.commit()
        throttle.failed(username, address)
        return _login_page(request, console, next, "用户名或密码错误", 401, username)
    throttle.succeeded(username, address)
    if (old := request.cookies.get(SESSION_COOKIE)) is not None:  # switching accounts ends the previous session
        auth.revoke_token(session, old)
    token, _ = auth.issue_token(session, user)
    session.commit()
    resp = RedirectResponse(safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=request.app.state.secure_cookies,
                    path="/", max_age=int(auth.token_ttl().total_seconds()))
    resp.delete_cookie(PRE_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, csrf: str = Form(""), console: Console = Depends(get_console),
           ctx: Ctx = Depends(page_ctx)) -> Response:
    resp = RedirectResponse("/", status_code=303)
    if ctx.cookie_token is None:  # not signed in by cookie (or the session already expired): just clear it
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp
    require_form_csrf(console, ctx, csrf)
    auth.revoke_token(ctx.session, ctx.cookie_token)
    ctx.commit()
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


def _password_page(request: Request, ctx: Ctx, *, error: str = "", done: int | None = None,
                   status: int = 200) -> HTMLResponse:
    return render(request, "account_password.html", ctx, title="修改密码", status_code=status, error=error,
                  done=done, min_length=auth.MIN_PASSWORD_LENGTH)


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    if ctx.anonymous:
        return RedirectResponse("/login?next=/account/password", status_code=303)
    return _password_page(request, ctx)


@router.post("/account/password")
def password_submit(request: Request, current_password: str = Form(""), new_password: str = Form(""),
                    confirm_password: str = Form(""), csrf: str = Form(""), console: Console = Depends(get_console),
                    ctx: Ctx = Depends(page_ctx)) -> Response:
    require_form_csrf(console, ctx, csrf)
    if not current_password or not new_password:
        return _password_page(request, ctx, error="请填写当前密码和新密码", status=422)
    if new_password != confirm_password:
        return _password_page(request, ctx, error="两次输入的新密码不一致", status=422)
    try:
        revoked = change_own_password(request, ctx, current_password, new_password, ctx.cookie_token)
    except PermissionDenied as e:
        return _password_page(request, ctx, error=str(e), status=403)
    except LedgerError as e:
        return _password_page(request, ctx, error=str(e), status=422)
    except HTTPException as e:  # the sign-in throttle
        resp = _password_page(request, ctx, error=str(e.detail), status=e.status_code)
        resp.headers.update(e.headers or {})
        return resp
    return _password_page(request, ctx, done=revoked)
