"""axe-core on every page of the console as every role, at 390×844 and 1440×900, in Debian's Chromium (issue 15
item 9; marker ``slow``: 16–25 pages per role, 4–6.5 minutes per role and 41 minutes for the six roles with the
demo build, measured on the shared 2-core machine at a load average of 25–28).

axe-core comes from npm at test time (``.ci/axe.sh``: into a cache folder outside the repository, never
committed); without npm or the network the test is skipped with the reason — except under CI (``CI`` set), where
``.ci/run`` has installed it and its absence is a failure. It is injected with Playwright's ``evaluate`` (the
console's Content-Security-Policy is left on: no inline script tag).

Against ``qingshan demo`` + ``qingshan serve`` (the session's shared demo build, copied, plus a town user), one
browser context per role — the public, ``admin`` (系统管理员), ``bureau`` (局机关: analysis and dispatch are bureau
work in this ledger's roles), ``zjj`` (department 市住建局), ``wujin`` (district 武进区) and ``hengli`` (a town,
横林镇) — opens every page the role can reach (the overview, the station map, the wall screen 大屏, air pages and
a station, water, targets, the ledger's
views, records and petitions, dispatch, alarms, review, imports, reports with a report build run as a job, login,
password, an error page) and at each size:

* no serious or critical axe-core violation (WCAG 2.x A/AA rules and best practices);
* nothing scrolls sideways (document and body no wider than the window);
* no console error or warning and nothing thrown (an error page's own 404, reported by Chromium as a failed
  resource, is the only message allowed, on that page only).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import DEMO_PASSWORD, demo_copy
from .console_server import running_console
from .test_console_browser import browser  # noqa: F401  (fixture)
from .test_console_responsive import DESK, PHONE, charts_drawn

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
AXE_VERSION = "4.11.0"
ROLES = (None, "admin", "bureau", "zjj", "wujin", "hengli")
SEVERE = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_source() -> str:
    env = {**os.environ, "QINGSHAN_AXE_VERSION": AXE_VERSION}
    try:
        res = subprocess.run(["bash", str(ROOT / ".ci" / "axe.sh")], capture_output=True, text=True, timeout=300,
                             env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        res = None
        reason = str(e)
    else:
        reason = res.stderr.strip()[-500:]
    path = Path(res.stdout.strip()) / "node_modules" / "axe-core" / "axe.min.js" if res and res.returncode == 0 \
        else None
    if path is None or not path.is_file():
        if os.environ.get("CI"):
            raise RuntimeError(f"CI 环境无法安装 axe-core（.ci/axe.sh）：{reason}")
        pytest.skip(f"无法从 npm 安装 axe-core {AXE_VERSION}（需要 npm 和网络；.ci/axe.sh）：{reason}")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_build):
    """The demo workspace (copied) with a town user added, served by ``qingshan serve`` on a free port."""
    from qingshan.ledger.db import open_ledger
    from qingshan.ledger.rbac import Principal
    from qingshan.ledger.service import LedgerService

    ws = demo_copy(demo_build, tmp_path_factory.mktemp("axe") / "ws")
    ledger = open_ledger(ws)
    try:
        with ledger.session() as s:
            LedgerService(s, Principal.system()).create_user("hengli", DEMO_PASSWORD, "district", "横林镇",
                                                             "属地：横林镇")
    finally:
        ledger.dispose()
    with running_console(ws, ws / "serve.log") as base:
        yield base


#: axe-core on the whole document: the serious and critical violations, each with the first nodes' targets
AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => ['serious', 'critical'].includes(v.impact)).map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => [n.target.join(' '), (n.failureSummary || '').split('\\n').slice(0, 3).join(' ')]),
  }));
}"""

WIDTHS = "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"


class Visitor:
    """One role in one browser context (one page reused for all its pages), every console message recorded."""

    def __init__(self, browser, base: str, role: str | None, axe: str):  # noqa: F811
        self.base, self.role, self.axe = base, role, axe
        self.context = browser.new_context(viewport=PHONE, locale="zh-CN")
        self.page = self.context.new_page()
        self.messages: list[tuple[str, str, str]] = []
        self.page.on("console", lambda m: self.messages.append((m.type, m.text, m.location.get("url", "")))
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e), "")))
        if role:
            self.page.goto(base + "/login")
            self.page.fill("main input[name=username]", role)
            self.page.fill("main input[name=password]", DEMO_PASSWORD)
            self.page.click("main button[type=submit]")
            self.page.wait_for_load_state()
            assert "/login" not in self.page.url, f"{role} 未能登录"

    def links(self, path: str, selector: str, n: int) -> list[str]:
        resp = self.page.goto(self.base + path)
        if resp is None or resp.status != 200:
            return []
        return self.page.locator(selector).evaluate_all(f"els => els.slice(0, {n}).map(e => e.getAttribute('href'))")

    def pages(self) -> list[tuple[str, int]]:
        """(path, status) of every page this role is checked on: the fixed ones and one of each kind of item."""
        signed_in = self.role is not None
        supervisor = self.role in ("admin", "bureau")
        station = self.links("/air", "tr[data-station] a", 1)
        items = self.links("/ledger?view=all", "tr[data-record] a", 1)
        todo = self.links("/ledger", "tr[data-record] a", 1) if signed_in else []
        petitions = self.links("/ledger/petitions", "tr[data-record] a", 1) if signed_in else []
        events = self.links("/dispatch", "a[href^='/dispatch/events/']", 1) if signed_in else []
        alarms = self.links("/alarms", "a[href^='/alarms/']", 1) if supervisor else []
        assert station and items, (self.role, station, items)
        paths = ["/", "/map", "/screen", "/air", "/air/evaluation", "/air/ranking", "/air/capture", *station,
                 "/water", "/targets", "/ledger", "/ledger?view=all", "/ledger?kind=petition", *items, *todo,
                 *petitions, "/ledger/petitions", "/reports", "/login"]
        if signed_in:
            paths += ["/account/password", "/dispatch", "/dispatch/stats", *events]
        if supervisor:
            paths += ["/alarms", *alarms, "/review", "/imports"]
        seen: set[str] = set()
        unique = [p for p in paths if not (p in seen or seen.add(p))]
        return [(p, 200) for p in unique] + [("/no-such-page", 404)]

    def check(self, path: str, status: int) -> list[str]:
        """Open ``path`` and check it at both sizes; returns the problems found (empty: clean)."""
        problems: list[str] = []
        who = f"{self.role or '公众'} {path}"
        self.page.set_viewport_size(PHONE)
        self.messages.clear()
        resp = self.page.goto(self.base + path)
        if resp is None or resp.status != status:
            return [f"{who} → {resp.status if resp else None}"]
        charts_drawn(self.page)
        self.page.evaluate(self.axe)
        for size in (PHONE, DESK):
            self.page.set_viewport_size(size)
            where = f"{who} {size['width']}×{size['height']}"
            doc, body, win = self.page.evaluate(WIDTHS)
            if doc > win or body > win:
                problems.append(f"{where}：页面横向溢出 {doc}/{body} > {win}")
            for v in self.page.evaluate(AXE_RUN):
                problems.append(f"{where}：axe {v['impact']} {v['id']}（{v['help']}）{v['nodes']}")
        own = self.base + path
        bad = [m for m in self.messages
               if not (status != 200 and m[0] == "error" and m[2] == own and f"status of {status}" in m[1])]
        if bad:
            problems.append(f"{who}：控制台消息 {bad}")
        return problems

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "public")
def test_every_page_passes_axe_at_both_sizes(server, browser, axe_source, role):  # noqa: F811
    v = Visitor(browser, server, role, axe_source)
    try:
        problems: list[str] = []
        t0, pages = time.monotonic(), v.pages()
        for path, status in pages:
            problems += v.check(path, status)
        if role is None:
            problems += report_job_page(v)
        print(f"axe {role or 'public'}: {len(pages)} pages in {time.monotonic() - t0:.0f} s")
        assert not problems, "\n".join(problems)
    finally:
        v.close()


def report_job_page(v: Visitor) -> list[str]:
    """The 报告 page's build as a job, in the browser: submitted from the form, its stage on screen while it runs
    (the page polls), then the download link — and that page checked like the others."""
    page = v.page
    page.set_viewport_size(PHONE)
    page.goto(v.base + "/reports")
    form = page.locator("form[data-form='report-monthly']")
    assert form.get_attribute("action") == "/reports/build"
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/reports?job=*")
    assert page.locator("#report-job").count() == 1
    page.locator("a[data-download]").wait_for(timeout=180_000)  # the poll reloads the page when the job is done
    href = page.locator("a[data-download]").get_attribute("href")
    assert href and href.startswith("/reports/jobs/") and href.endswith("/file")
    return v.check(page.url.removeprefix(v.base), 200)
