"""Sign-in throttling: the counting rules with a fake clock, then through the token endpoint and the console's
login form."""

from __future__ import annotations

import pytest

from qingshan.ledger.app import create_app
from qingshan.ledger.throttle import LoginThrottle

from .ledger_fixtures import (  # noqa: F401
    PASSWORD,
    TODAY,
    fast_password_hashing,
    ledger,
    ledger_url,
    org,
    workspace,
)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_locks_after_five_failures_and_unlocks_after_the_lockout():
    clock = Clock()
    th = LoginThrottle(max_failures=5, window=900, lockout=600, clock=clock)
    for _ in range(4):
        th.failed("bureau", "10.0.0.1")
        clock.t += 10
    assert th.retry_after("bureau", "10.0.0.1") is None
    th.failed("Bureau ", "10.0.0.1")  # the account name is compared case- and space-insensitively
    assert th.retry_after("bureau", "10.0.0.1") == 600
    assert th.retry_after("bureau", "10.0.0.2") is None  # not locked from another address
    assert th.retry_after("admin", "10.0.0.1") is None  # nor another account from this one
    clock.t += 599.5
    assert th.retry_after("bureau", "10.0.0.1") == 1
    clock.t += 0.5
    assert th.retry_after("bureau", "10.0.0.1") is None


def test_failures_older_than_the_window_do_not_count_and_success_resets():
    clock = Clock()
    th = LoginThrottle(max_failures=3, window=100, lockout=50, clock=clock)
    th.failed("a", "x")
    th.failed("a", "x")
    clock.t += 101  # both fall out of the window
    th.failed("a", "x")
    assert th.retry_after("a", "x") is None
    th.failed("a", "x")
    th.succeeded("a", "x")
    th.failed("a", "x")
    th.failed("a", "x")
    assert th.retry_after("a", "x") is None  # the success cleared the count


def test_one_address_guessing_many_accounts_is_locked():
    clock = Clock()
    th = LoginThrottle(max_failures=5, max_per_address=8, clock=clock)
    for i in range(8):
        th.failed(f"user{i}", "10.9.9.9")
    assert th.retry_after("someone-else", "10.9.9.9") is not None
    assert th.retry_after("someone-else", "10.9.9.8") is None


@pytest.fixture
def api(ledger_url, workspace, org):
    from fastapi.testclient import TestClient

    app = create_app(workspace, url=ledger_url, today=TODAY)
    clock = Clock()
    app.state.login_throttle = LoginThrottle(max_failures=3, lockout=300, clock=clock)
    with TestClient(app) as c:
        yield c, clock


def test_token_endpoint_refuses_with_429_then_recovers(api):
    client, clock = api
    for _ in range(3):
        assert client.post("/api/v1/auth/token", data={"username": "bureau", "password": "wrong"}).status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "bureau", "password": PASSWORD})
    assert r.status_code == 429 and "登录失败次数过多" in r.json()["detail"] and int(r.headers["Retry-After"]) > 0
    assert client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}).status_code == 200
    clock.t += 301
    assert client.post("/api/v1/auth/token", data={"username": "bureau", "password": PASSWORD}).status_code == 200


def test_console_login_form_is_throttled(tmp_path, tmp_path_factory, monkeypatch):
    from fastapi.testclient import TestClient

    from qingshan.web.app import create_console_app

    from .web_fixtures import cheap_password_hashing, fresh_console_workspace, login_cookie

    mp = cheap_password_hashing()
    try:
        ws = fresh_console_workspace(tmp_path_factory.getbasetemp(), tmp_path / "ws")
        app = create_console_app(ws, warm=False, bundle_cache_dir=tmp_path / "bundle")
        with TestClient(app) as c:
            app.state.login_throttle = LoginThrottle(max_failures=2, lockout=300, clock=Clock())
            page = c.get("/login")
            csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            for _ in range(2):
                r = c.post("/login", data={"username": "bureau", "password": "wrong", "csrf": csrf})
                assert r.status_code == 401
            r = c.post("/login", data={"username": "bureau", "password": "x", "csrf": csrf})
            assert r.status_code == 429 and "登录失败次数过多" in r.text and "Retry-After" in r.headers
            with pytest.raises(AssertionError):
                login_cookie(c, "bureau")  # even the right password is refused while locked
    finally:
        mp.undo()
