"""The console's 修改密码 page (issue 11, finding 9): reachable from the user menu, CSRF-protected, the password
rules of account creation, other sessions and tokens revoked, this browser session kept. Old code: no such page
(404) and no way for a user to change their own password."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from qingshan.ledger.db import open_ledger
from qingshan.ledger.rbac import Principal
from qingshan.ledger.service import LedgerService
from qingshan.web.app import create_console_app

from .web_fixtures import cheap_password_hashing, login_cookie

PASSWORD = "old-password-1"
NEW = "new-password-2"


@pytest.fixture
def app(tmp_path):
    mp = cheap_password_hashing()
    ws = tmp_path / "ws"
    lg = open_ledger(ws)
    try:
        with lg.session() as s:
            svc = LedgerService(s, Principal.system())
            svc.create_unit("zjj", "市住建局", "department")
            svc.create_user("zjj", PASSWORD, "department", "市住建局", "住建局张工")
    finally:
        lg.dispose()
    application = create_console_app(ws, warm=False, bundle_cache_dir=tmp_path / "bundle")
    with TestClient(application):
        yield application
    mp.undo()


def _form(client: TestClient, csrf: str, current: str, new: str, confirm: str | None = None):
    return client.post("/account/password", data={"csrf": csrf, "current_password": current, "new_password": new,
                                                  "confirm_password": new if confirm is None else confirm})


def test_change_password_page(app):
    anonymous = TestClient(app)
    r = anonymous.get("/account/password", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

    elsewhere = TestClient(app).post("/api/v1/auth/token", data={"username": "zjj", "password": PASSWORD})
    token = {"Authorization": f"Bearer {elsewhere.json()['access_token']}"}
    browser = TestClient(app)
    csrf = login_cookie(browser, "zjj", PASSWORD)
    assert 'href="/account/password"' in browser.get("/ledger").text  # in the user menu
    page = browser.get("/account/password")
    assert page.status_code == 200 and 'name="new_password"' in page.text
    assert re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1) == csrf

    assert _form(browser, "forged", PASSWORD, NEW).status_code == 403
    r = _form(browser, csrf, PASSWORD, NEW, confirm="something-else")
    assert r.status_code == 422 and "两次输入的新密码不一致" in r.text
    r = _form(browser, csrf, "not-my-password", NEW)
    assert r.status_code == 403 and "当前密码不正确" in r.text
    r = _form(browser, csrf, PASSWORD, "short")
    assert r.status_code == 422 and "密码至少 8 位" in r.text
    assert TestClient(app).get("/api/v1/auth/me", headers=token).json()["anonymous"] is False  # nothing changed yet

    r = _form(browser, csrf, PASSWORD, NEW)
    assert r.status_code == 200 and "密码已修改" in r.text and "其他 1 处登录" in r.text
    assert TestClient(app).get("/api/v1/auth/me", headers=token).status_code == 401  # the token is revoked
    assert browser.get("/api/v1/auth/me").json()["name"] == "住建局张工"  # this session is kept
    fresh = TestClient(app)
    assert fresh.post("/api/v1/auth/token", data={"username": "zjj", "password": PASSWORD}).status_code == 401
    assert fresh.post("/api/v1/auth/token", data={"username": "ZJJ", "password": NEW}).status_code == 200
