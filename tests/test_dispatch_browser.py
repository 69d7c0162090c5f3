"""The command-and-dispatch loop in a real headless Chromium (issue 14: "the loop works end to end").

``qingshan serve`` runs as its own process on a small ledger (tests/ledger_fixtures.build_org: the bureau, 武进区,
新北区 …). An alarm becomes an event through the API (as the alarm centre will do); the bureau dispatches it to
武进区 on the event page; the district user finds it first in 我的待办 (before a later-due event), answers with a
photo (a PNG made here) through the form; the bureau closes it after ticking the confirmation. A violation clue is
turned into an enforcement case on its page and the case carries the photo. Every step is in the audit log. The
pages' content does not overflow 390 px.

Skipped with the reason when Chromium is not installed — except under CI (``CI`` set), where it is a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib

import pytest

from .browser import BrowserUser, launched, require_chromium
from .console_server import running_console
from .ledger_fixtures import PASSWORD, fast_password_hashing, workspace_with_org  # noqa: F401

require_chromium()

BEIJING = dt.timezone(dt.timedelta(hours=8))


def png(width: int = 8, height: int = 8) -> bytes:
    """A small valid PNG (solid green), written by hand: IHDR, one IDAT, IEND."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x20\xa0\x40" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ws = tmp_path_factory.mktemp("dispatch") / "ws"
    ws.mkdir()
    workspace_with_org(ws)
    with running_console(ws, ws / "serve.log") as base:
        yield base


def call(base: str, path: str, token: str | None = None, *, json_body: dict | None = None,
         form: dict | None = None, files: list[tuple[str, str, bytes, str]] = ()) -> dict | list:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if json_body is not None:
        data, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    elif files:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in (form or {}).items()]
        for field, name, content, ctype in files:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                         f"Content-Type: {ctype}\r\n\r\n".encode() + content + b"\r\n")
        data = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(base + path, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def token(base: str, user: str) -> str:
    return call(base, "/api/v1/auth/token", form={"username": user, "password": PASSWORD})["access_token"]


@pytest.fixture(scope="module")
def browser():
    with launched() as b:
        yield b


class User(BrowserUser):
    """One browser context signed in as ``name``."""

    def __init__(self, browser, base: str, name: str, width: int = 1280):
        super().__init__(browser, base, name, PASSWORD, width=width)

    def status(self) -> str:
        return self.page.locator("[data-status]").get_attribute("data-status")

    def submit(self, action: str) -> None:
        with self.page.expect_navigation():
            self.page.click(f"form[data-action={action}] button[type=submit]")

    def close(self) -> None:
        self.context.close()


def test_alarm_dispatch_answer_close_and_clue_to_case(server, browser, tmp_path):
    bureau_token = token(server, "bureau")
    wujin_token = token(server, "wujin")
    hour = (dt.datetime.now(BEIJING) - dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    alarm = {"id": f"AL-{uuid.uuid4().hex[:8]}", "station": "武进监测站", "hour": hour.isoformat(),
             "rule": "PM2.5 较本站基线突增", "level": "general",
             "evidence": {"pm25": 186, "baseline_pm25": 43, "neighbours_pm25": 51}, "note": "本站独升，疑似本地扬尘"}
    ev = call(server, "/api/v1/ledger/events/from-alarm", bureau_token, json_body=alarm)
    # a later-due event of the same district (a petition: 15 working days) — the spike must come first
    later = call(server, "/api/v1/ledger/events", bureau_token, json_body={"kind": "event", "fields": {
        "event_kind": "petition", "level": "general", "description": "油烟扰民"}})
    call(server, f"/api/v1/ledger/events/{later['id']}/dispatch", bureau_token, json_body={"unit_ids": ["武进区"]})

    # the bureau dispatches the alarm's event to 武进区 on its page
    bureau = User(browser, server, "bureau")
    bureau.goto(f"/dispatch/events/{ev['id']}")
    assert "186" in bureau.page.locator("table[data-table=evidence]").inner_text()
    bureau.page.select_option("form[data-action=dispatch] select[name=unit_ids]", label="武进区")
    bureau.submit("dispatch")
    assert bureau.status() == "dispatched"

    # the district user: first in 我的待办, answers with a photo
    wujin = User(browser, server, "wujin")
    wujin.goto("/dispatch")
    first = wujin.page.locator("table[data-table=todo] tbody tr").first
    assert first.get_attribute("data-event") == str(ev["id"]), wujin.page.locator("#todo").inner_text()
    assert wujin.page.locator("table[data-table=todo] tbody tr").nth(1).get_attribute("data-event") == str(later["id"])
    first.locator("a").click()
    wujin.page.wait_for_load_state()
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(png())
    wujin.page.fill("form[data-action=answer] textarea[name=findings]", "站点东南 600 米工地土方未覆盖，已责令停工整改")
    wujin.page.set_input_files("form[data-action=answer] input[name=files]", str(photo))
    wujin.submit("answer")
    assert wujin.status() == "answered"
    assert "现场照片.png" in wujin.page.locator("ul.files").inner_text()
    assert wujin.page.locator("form[data-action=close]").count() == 0  # closing is the bureau's

    # the bureau closes it — not before ticking the confirmation
    bureau.goto(f"/dispatch/events/{ev['id']}")
    bureau.page.fill("form[data-action=close] textarea[name=note]", "已核实整改到位")
    bureau.page.click("form[data-action=close] button[type=submit]")
    bureau.page.wait_for_function("() => !document.querySelector('form[data-action=close] input[name=confirm]').checkValidity()")
    assert bureau.status() == "answered"  # the browser refused the unconfirmed form
    bureau.page.check("form[data-action=close] input[name=confirm]")
    bureau.submit("close")
    assert bureau.status() == "closed"

    # a violation clue, answered by the district with a photo, becomes a case with its evidence
    clue = call(server, "/api/v1/ledger/events", bureau_token, json_body={"kind": "event", "fields": {
        "event_kind": "violation", "level": "larger", "description": "夜间异味，疑似偷排", "location": "湟里镇某厂"}})
    call(server, f"/api/v1/ledger/events/{clue['id']}/dispatch", bureau_token, json_body={"unit_ids": ["湟里镇"]})
    call(server, f"/api/v1/ledger/events/{clue['id']}/answer", wujin_token, form={"findings": "暗管排放属实"},
         files=[("files", "暗管.png", png(4, 4), "image/png")])
    bureau.goto(f"/dispatch/events/{clue['id']}")
    bureau.page.fill("form[data-action=to_case] input[name=party]", "湟里镇某化工厂")
    bureau.page.fill("form[data-action=to_case] textarea[name=violation]", "通过暗管排放废水")
    bureau.page.check("form[data-action=to_case] input[name=confirm]")  # it finishes the event: confirmed first
    bureau.submit("to_case")
    assert bureau.status() == "to_case"
    with bureau.page.expect_navigation():
        bureau.page.click("a:has-text('执法案件')")
    assert "暗管.png" in bureau.page.content() and "湟里镇某化工厂" in bureau.page.content()

    # every step in the audit log
    audit = call(server, f"/api/v1/ledger/audit?record_id={ev['id']}", bureau_token)
    assert sorted(e["action"] for e in audit) == sorted(["record.create", "attachment.add", "transition.dispatch",
                                                         "transition.answer",
                                                         "progress.add", "transition.close"])
    steps = [e["action"] for e in call(server, f"/api/v1/ledger/audit?record_id={clue['id']}", bureau_token)]
    assert "transition.to_case" in steps and "progress.add" in steps

    # no horizontal overflow of the pages' content at 390 px: tables scroll inside their container (the console's
    # top bar, shared by every page and styled in console.css, is not these pages' and is left out)
    narrow = User(browser, server, "wujin", width=390)
    for path in ("/dispatch", f"/dispatch/events/{ev['id']}", "/dispatch/stats"):
        narrow.goto(path)
        main, client, right = narrow.page.evaluate("""() => {
            const m = document.querySelector('main');
            const out = [...m.querySelectorAll('*')].filter(e => !e.closest('.table-wrap'));
            return [m.scrollWidth, m.clientWidth, Math.max(...out.map(e => e.getBoundingClientRect().right))];
        }""")
        assert main <= client and right <= 390, f"{path} 在 390 px 下横向溢出（{main}/{client}，{right} px）"
    for u in (bureau, wujin, narrow):
        u.close()


NO_OVERFLOW = """() => {
    const m = document.querySelector('main');
    const out = [...m.querySelectorAll('*')].filter(e => !e.closest('.table-wrap'));
    return [m.scrollWidth, m.clientWidth, Math.max(...out.map(e => e.getBoundingClientRect().right))];
}"""


def fits_phone(user: User, where: str) -> None:
    main, client, right = user.page.evaluate(NO_OVERFLOW)
    assert main <= client and right <= 390, f"{where} 在 390 px 下横向溢出（{main}/{client}，{right} px）"


def test_host_and_assisting_units_on_a_phone(server, browser):
    """主办/协办 (docs/ledger.md#主办协办) on 390 px pages: the bureau dispatches an event to two units naming the
    host; the assisting unit (市住建局) has no answer form, reports its findings with the part form; the host
    (新北区) then answers. The same for a petition's 交办 and 答复 on the ledger item page."""
    bureau_token = token(server, "bureau")
    ev = call(server, "/api/v1/ledger/events", bureau_token, json_body={"kind": "event", "fields": {
        "event_kind": "quality", "level": "general", "description": "河道异味，涉及工地排水"}})
    bureau = User(browser, server, "bureau", width=390)
    bureau.goto(f"/dispatch/events/{ev['id']}")
    fits_phone(bureau, "派发表单")
    bureau.page.select_option("form[data-action=dispatch] select[name=unit_ids]", label=["新北区", "市住建局"])
    bureau.submit("dispatch")  # no host named: refused with the reason, nothing changes
    assert "须指定主办单位" in bureau.page.locator("p.error").inner_text() and bureau.status() == "new"
    bureau.page.select_option("form[data-action=dispatch] select[name=unit_ids]", label=["新北区", "市住建局"])
    bureau.page.select_option("form[data-action=dispatch] select[name=host_unit_id]", label="新北区")
    bureau.submit("dispatch")
    assert bureau.status() == "dispatched"
    assert bureau.page.locator("dd[data-host]").get_attribute("data-host") == "新北区"
    assert bureau.page.locator("#parts [data-parts]").get_attribute("data-parts") == "0/1"

    zj = User(browser, server, "zj", width=390)
    zj.goto(f"/dispatch/events/{ev['id']}")
    assert zj.page.locator("form[data-action=answer]").count() == 0  # the whole answer is the host's
    assert zj.page.locator("li[data-unit=市住建局]").get_attribute("data-reported") == "0"
    fits_phone(zj, "协办单位的事件页")
    zj.page.fill("form[data-form=part] textarea[name=note]", "住建：河道旁工地排水已截流")
    with zj.page.expect_navigation():
        zj.page.click("form[data-form=part] button[type=submit]")
    assert zj.page.locator("li[data-unit=市住建局]").get_attribute("data-reported") == "1"
    assert zj.page.locator("form[data-form=part]").count() == 0

    xinbei = User(browser, server, "xinbei", width=390)
    xinbei.goto(f"/dispatch/events/{ev['id']}")
    assert "协办单位已报送 1 / 1" in xinbei.page.locator("#parts").inner_text()
    xinbei.page.fill("form[data-action=answer] textarea[name=findings]", "新北区汇总：工地排水截流，河道已清理")
    xinbei.submit("answer")
    assert xinbei.status() == "answered"

    # a petition: 交办 to two units with the host on the item page, the assisting unit's part, the host's reply
    p = call(server, "/api/v1/ledger/items", bureau_token, json_body={"kind": "petition", "fields": {
        "channel": "hotline_12369", "received_on": "2024-05-20", "content": "河道黑臭", "district": "新北区"}})
    call(server, f"/api/v1/ledger/items/{p['id']}/transitions", bureau_token,
         json_body={"name": "accept", "payload": {"on": "2024-05-21"}})
    bureau.goto(f"/ledger/items/{p['id']}")
    fits_phone(bureau, "交办表单")
    form = "form[data-transition=assign]"
    bureau.page.select_option(f"{form} select[name=unit_ids]", label=["市水利局", "市住建局"])
    bureau.page.select_option(f"{form} select[name=host_unit_id]", label="市水利局")
    with bureau.page.expect_navigation():
        bureau.page.click(f"{form} button[type=submit]")
    assert bureau.page.locator("dd[data-host]").get_attribute("data-host") == "市水利局"
    zj.goto(f"/ledger/items/{p['id']}")
    assert zj.page.locator("form[data-transition=reply]").count() == 0
    zj.page.fill("form[data-form=part] textarea[name=note]", "住建：沿河工地污水已截流")
    with zj.page.expect_navigation():
        zj.page.click("form[data-form=part] button[type=submit]")
    fits_phone(zj, "协办单位的信访件页")
    sl = User(browser, server, "sl", width=390)
    sl.goto(f"/ledger/items/{p['id']}")
    sl.page.fill("form[data-transition=reply] textarea[name=reply_text]", "经市水利局、市住建局核查处理，河道已清淤")
    with sl.page.expect_navigation():
        sl.page.click("form[data-transition=reply] button[type=submit]")
    detail = call(server, f"/api/v1/ledger/items/{p['id']}", bureau_token)
    assert detail["status"] == "replied" and (detail["host"], detail["assisting"]) == ("市水利局", ["市住建局"])
    for u in (bureau, zj, xinbei, sl):
        u.close()
