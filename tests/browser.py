"""Headless Chromium for the browser tests (a module of helpers, not a test file).

:func:`require_chromium` at a test module's top skips the module with the reason when Debian's chromium is not
installed — except under CI (``CI`` set), where it is a failure; :func:`launched` is the module's browser;
:class:`BrowserUser` is one browser context, signed in or not."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: How long any Playwright wait may last (its default is 30 s). Each wait ends as soon as its condition holds; the
#: deadline only decides when a busy CI machine gives up: a console in a test's thread at load 8–10 took over 30 s
#: for its first overview page.
TIMEOUT_MS = 120_000


def require_chromium() -> Any:
    """The ``playwright.sync_api`` module; skips the calling module when Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI 环境缺少 Debian chromium（.ci/packages.sh 应已安装）")
        pytest.skip("未安装 Debian chromium（apt-get install chromium），跳过浏览器测试", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


class _Browser:
    """A Playwright browser whose contexts and pages wait up to :data:`TIMEOUT_MS` unless told otherwise."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    def new_context(self, **kwargs: Any) -> Any:
        context = self._browser.new_context(**kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        return context

    def new_page(self, **kwargs: Any) -> Any:
        page = self._browser.new_page(**kwargs)
        page.set_default_timeout(TIMEOUT_MS)
        page.set_default_navigation_timeout(TIMEOUT_MS)
        return page


@contextmanager
def launched() -> Iterator[Any]:
    """A headless Chromium (``with launched() as browser:``), waits up to :data:`TIMEOUT_MS`."""
    playwright = require_chromium()
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield _Browser(b)
        finally:
            b.close()


class BrowserUser:
    """One browser context (one user) at ``width`` × ``height``; signed in as ``name`` when given."""

    def __init__(self, browser: Any, base: str, name: str | None = None, password: str | None = None,
                 width: int = 1280, height: int = 900) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        self.page = self.context.new_page()
        if name is not None:
            self.login(name, password)

    def goto(self, path: str) -> Any:
        resp = self.page.goto(self.base + path)
        assert resp is not None and resp.status == 200, f"{path} → {resp.status if resp else None}"
        return resp

    def login(self, name: str, password: str | None) -> None:
        self.goto("/login")
        self.page.fill("input[name=username]", name)
        self.page.fill("input[name=password]", password or "")
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, self.page.content()[:500]

    def close(self) -> None:
        self.context.close()
