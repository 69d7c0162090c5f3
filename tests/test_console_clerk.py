"""The clerk's day (issue 15 item 7) through FastAPI's TestClient, against the ledger service as the oracle:

* 我的待办 is what ``/ledger`` opens on for a department (``zjj``), district (``wujin``) and town user — exactly the
  service's :meth:`todo_records`, earliest deadline first — while the bureau keeps the whole ledger;
* every row says what the caller may do on it, the same steps :meth:`allowed_transitions` allows;
* the overview's 期限提醒 count overdue records with the ledger's own rule (the bureau: ``stats()["overdue"]``) and
  those due within three days; the public petition board counts overdue petitions (it said 逾期 0 while two were);
* a step that completes, signs off or closes a record asks for a confirmation page first (no JavaScript needed),
  and only the confirmed post changes the record.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest
from fastapi.testclient import TestClient

from qingshan.ledger.rbac import Principal
from qingshan.ledger.service import LedgerService

from .test_web_pages import text_of
from .web_fixtures import AS_OF, LEDGER_TODAY, PASSWORD, cheap_password_hashing, login_cookie, shared_workspace

TOWN_USER = "hengli"
DUE_SOON_CODE = "SDC-TEST-DUE2"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A private copy of the console workspace (this module adds a town user and a record due in two days)."""
    from qingshan.web.app import create_console_app

    mp = cheap_password_hashing()
    ws = tmp_path_factory.mktemp("clerk") / "ws"
    shutil.copytree(shared_workspace(tmp_path_factory.getbasetemp()), ws)
    application = create_console_app(ws, as_of=AS_OF, today=LEDGER_TODAY, warm=False,
                                     bundle_cache_dir=tmp_path_factory.mktemp("bundle"))
    with TestClient(application):
        with application.state.console.ledger.session() as s:
            svc = LedgerService(s, Principal.system(), today=LEDGER_TODAY)
            svc.create_user(TOWN_USER, PASSWORD, "district", "横林镇", "横林镇测试账号")
            svc.create_rectification(seq=990, source_inspection="测试督察", problem="两天后到期的测试问题",
                                     title="两天后到期的测试任务", deadline=LEDGER_TODAY + dt.timedelta(days=2),
                                     start_date=LEDGER_TODAY - dt.timedelta(days=60), responsible=["市住建局"],
                                     district="武进区", code=DUE_SOON_CODE)
            s.commit()
        yield application
    mp.undo()


def client(app, user: str | None) -> TestClient:
    c = TestClient(app)
    if user:
        c.csrf = login_cookie(c, user)  # type: ignore[attr-defined]
    return c


def service(app, s, user: str | None) -> LedgerService:
    from sqlalchemy import select

    from qingshan.ledger.models import User

    if user is None:
        return LedgerService(s, Principal.system(), today=LEDGER_TODAY)
    u = s.execute(select(User).where(User.username == user)).scalar_one()
    return LedgerService(s, Principal.of(u), today=LEDGER_TODAY)


def rows(page: str) -> list[tuple[int, str, str]]:
    """(record id, 我可办理 mark, its text) of each row of the ledger list."""
    out = []
    for rid, body in re.findall(r'<tr data-record="(\d+)"[^>]*>(.*?)</tr>', page, flags=re.DOTALL):
        can = re.search(r'data-can="(\w+)">(.*?)</td>', body, flags=re.DOTALL)
        assert can, body
        out.append((int(rid), can.group(1), text_of(can.group(2)).strip()))
    return out


@pytest.mark.parametrize("user", ["zjj", "wujin", TOWN_USER])
def test_todo_is_the_default_ledger_view_of_unit_users(app, user):
    page = client(app, user).get("/ledger").text
    assert "<h1>我的待办</h1>" in page and 'aria-current="page">我的待办' in page
    with app.state.console.ledger.session() as s:
        todo = service(app, s, user).todo_records()
        want = [r.id for r in todo]
        deadlines = [r.deadline for r in todo if r.deadline is not None]
        codes = {r.code for r in todo}
    shown = rows(page)
    assert [r[0] for r in shown] == want and want, user
    assert deadlines == sorted(deadlines)  # by deadline
    assert all(mark == "act" for _, mark, _ in shown)  # only items the unit may act on
    assert (DUE_SOON_CODE in codes) == (user != TOWN_USER)  # 市住建局's, in 武进区 (横林镇: 常州经开区)


def test_bureau_keeps_the_whole_ledger_and_units_can_open_it(app):
    page = client(app, "bureau").get("/ledger").text
    assert "<h1>治理台账</h1>" in page and "筛选" in page
    zjj = client(app, "zjj")
    whole = zjj.get("/ledger", params={"view": "all"}).text
    assert "<h1>治理台账</h1>" in whole and "筛选" in whole
    # a filter means the whole ledger, filtered
    assert "<h1>治理台账</h1>" in zjj.get("/ledger", params={"kind": "petition"}).text
    # the public has no 待办
    assert "<h1>治理台账</h1>" in client(app, None).get("/ledger", params={"view": "todo"}).text


@pytest.mark.parametrize("user", ["zjj", "wujin", "bureau"])
def test_every_row_says_what_the_caller_may_do(app, user):
    page = client(app, user).get("/ledger", params={"view": "all", "kind": "rectification"}).text
    shown = rows(page)
    assert shown
    with app.state.console.ledger.session() as s:
        svc = service(app, s, user)
        for rid, mark, text in shown:
            steps = [t.label for t in svc.allowed_transitions(rid)]
            for label in steps:
                assert label in text, (rid, label, text)
            if mark == "view":
                assert not steps and text == "仅查看"
    marks = {m for _, m, _ in shown}
    assert marks == ({"act"} if user == "bureau" else {"act", "view"}), marks


def test_overview_reminders_count_as_the_ledger_does(app):
    bureau = client(app, "bureau").get("/").text
    with app.state.console.ledger.session() as s:
        svc = service(app, s, None)
        st = svc.stats()
        zjj_svc = service(app, s, "zjj")
        zjj_todo = zjj_svc.todo_records()
        zjj_states = zjj_svc.deadline_states(zjj_todo)
        zjj_overdue = sum(1 for r in zjj_todo if r.deadline and r.deadline_kind == "date" and r.deadline < LEDGER_TODAY)
        zjj_soon = [r.code for r in zjj_todo if r.deadline and r.deadline_kind == "date"
                    and 0 <= (r.deadline - LEDGER_TODAY).days <= 3]
    assert re.search(r'data-remind="overdue">(\d+)<', bureau).group(1) == str(len(st["overdue"]))
    assert len(st["overdue"]) > 0
    page = client(app, "zjj").get("/").text
    assert "期限提醒（我的待办" in text_of(page)
    assert re.search(r'data-remind="overdue">(\d+)<', page).group(1) == str(zjj_overdue)
    assert sum(1 for r in zjj_todo if zjj_states[r.id].overdue) == zjj_overdue > 0
    assert re.search(r'data-remind="due_soon">(\d+)<', page).group(1) == str(len(zjj_soon))
    assert DUE_SOON_CODE in zjj_soon
    assert f"{DUE_SOON_CODE} 两天后到期的测试任务" in text_of(page) and "还剩 2 天" in text_of(page)
    # the public: no reminders
    assert 'data-panel="reminders"' not in client(app, None).get("/").text


def test_public_petition_board_counts_overdue_petitions(app):
    with app.state.console.ledger.session() as s:
        want = service(app, s, None).stats()["petitions_overdue"]
        public = LedgerService(s, Principal.public(), today=LEDGER_TODAY).stats()["petitions_overdue"]
    assert want > 0 and public == want
    page = client(app, None).get("/ledger/petitions").text
    assert re.search(r'data-kpi="petitions_overdue">(\d+)<', page).group(1) == str(want)


def test_finishing_steps_are_confirmed_first(app):
    bureau, zjj = client(app, "bureau"), client(app, "zjj")
    with app.state.console.ledger.session() as s:
        svc = service(app, s, None)
        item = svc.find("rectification", DUE_SOON_CODE).id

    def status() -> str:
        with app.state.console.ledger.session() as s:
            return service(app, s, None).get(item).status

    url = f"/ledger/items/{item}"
    # 申请验收 does not finish the record: no confirmation
    r = zjj.post(f"{url}/transition", data={"name": "submit", "completion_note": "已整改", "csrf": zjj.csrf},
                 follow_redirects=False)
    assert r.status_code == 303 and status() == "submitted"
    page = bureau.get(url).text
    assert re.search(r'class="stack finish-step"[^>]*data-transition="accept"', page)
    assert not re.search(r'class="stack finish-step"[^>]*data-transition="return"', page)
    # 验收通过 completes it: the confirmation page, the record unchanged
    r = bureau.post(f"{url}/transition", data={"name": "accept", "acceptance_evidence": "验收意见〔2024〕9号",
                                               "csrf": bureau.csrf}, follow_redirects=False)
    assert r.status_code == 200 and 'data-confirm="accept"' in r.text and status() == "submitted"
    text = text_of(r.text)
    assert "确认验收通过" in text and "已完成整改" in text and "验收意见〔2024〕9号" in text
    assert f'href="{url}"' in r.text  # 返回 without acting
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', r.text))
    assert hidden["confirm"] == "1" and hidden["acceptance_evidence"] == "验收意见〔2024〕9号"
    r = bureau.post(f"{url}/transition", data=hidden, follow_redirects=False)
    assert r.status_code == 303 and status() == "completed"
    # 销号 too
    r = bureau.post(f"{url}/transition", data={"name": "sign_off", "signoff_evidence": "销号材料", "csrf": bureau.csrf,
                                               "disclosure_text": "已整改到位"}, follow_redirects=False)
    assert r.status_code == 200 and 'data-confirm="sign_off"' in r.text and status() == "completed"


# --- report builds as jobs of the platform's queue (issue 15 item 8) ----------------------------------------------


@pytest.fixture(scope="module")
def platform_app(tmp_path_factory):
    """The console with the platform's services (job queue, store writer, scheduler) in process, as ``qingshan
    serve`` runs them, on its own copy of the workspace."""
    from qingshan.platform.service import Platform, PlatformOptions
    from qingshan.web.app import create_console_app

    mp = cheap_password_hashing()
    ws = tmp_path_factory.mktemp("clerk-platform") / "ws"
    shutil.copytree(shared_workspace(tmp_path_factory.getbasetemp()), ws)
    platform = Platform(ws, "local-test-token", PlatformOptions())
    application = create_console_app(ws, as_of=AS_OF, today=LEDGER_TODAY, warm=False, services=platform.services,
                                     bundle_cache_dir=tmp_path_factory.mktemp("bundle"))
    with TestClient(application):
        yield application
    mp.undo()


def wait_report(c: TestClient, job_id: str, timeout: float = 120.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while True:
        r = c.get(f"/reports/jobs/{job_id}/status")
        assert r.status_code == 200, r.text
        job = r.json()
        if job["state"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def start_report(c: TestClient, **form: str) -> str:
    r = c.post("/reports/build", data={"csrf": getattr(c, "csrf", ""), **form}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return r.headers["location"].split("job=")[1]


def test_plain_console_keeps_building_synchronously(app):
    page = client(app, None).get("/reports").text
    assert 'action="/api/v1/reports/monthly"' in page and 'action="/reports/build"' not in page
    assert client(app, None).post("/reports/build", data={"report": "monthly"}).status_code == 503


def test_report_build_runs_as_a_job_with_progress_and_download(platform_app):
    import io

    import docx

    public = client(platform_app, None)
    page = public.get("/reports").text
    assert page.count('action="/reports/build"') == 3 and 'action="/api/v1/reports/monthly"' not in page
    job_id = start_report(public, report="monthly", city="示范市", month="2025-02", format="docx")
    shown = public.get(f"/reports?job={job_id}").text
    assert f'data-report-job="{job_id}"' in shown and "月度空气质量排名通报" in shown
    job = wait_report(public, job_id)
    assert job["state"] == "done" and job["progress"]["stage"] == "完成", job
    page = public.get(f"/reports?job={job_id}").text
    assert f'href="/reports/jobs/{job_id}/file"' in page and "下载 示范市2025-02空气质量排名通报.docx" in page
    r = public.get(f"/reports/jobs/{job_id}/file")
    assert r.status_code == 200 and r.content[:2] == b"PK" and "filename*=UTF-8''" in r.headers["content-disposition"]
    built = [p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs]
    # the same document as the synchronous API builds for the same caller
    api = public.get("/api/v1/reports/monthly", params={"city": "示范市", "month": "2025-02", "format": "docx"})
    assert built == [p.text for p in docx.Document(io.BytesIO(api.content)).paragraphs]
    assert built[0] == "示范市2025年2月环境空气质量排名通报"
    # the job is one of the queue's records (the jobs API lists it for the bureau)
    bureau = client(platform_app, "bureau")
    listed = bureau.get("/api/v1/jobs", params={"kind": "report"}).json()
    assert job_id in {j["id"] for j in listed}


def test_failed_report_build_shows_the_chinese_error(platform_app):
    public = client(platform_app, None)
    api = public.get("/api/v1/reports/bulletin", params={"year": 2025})
    assert api.status_code == 422
    job_id = start_report(public, report="bulletin", city="示范市", year="2025", format="docx")
    job = wait_report(public, job_id)
    assert job["state"] == "failed" and job["error"] == api.json()["detail"] and "年度尚未结束" in job["error"]
    page = public.get(f"/reports?job={job_id}").text
    assert "生成失败：" in text_of(page) and "年度尚未结束" in text_of(page)
    assert public.get(f"/reports/jobs/{job_id}/file").status_code == 404


def test_a_signed_in_users_build_is_not_shown_to_the_public(platform_app):
    bureau = client(platform_app, "bureau")
    job_id = start_report(bureau, report="rectification", inspection="第二轮第二批", as_of="2024-05-31",
                          format="docx")
    assert wait_report(bureau, job_id)["state"] == "done"
    assert bureau.get(f"/reports/jobs/{job_id}/file").status_code == 200
    public = client(platform_app, None)
    assert public.get(f"/reports/jobs/{job_id}/status").status_code == 404
    assert public.get(f"/reports/jobs/{job_id}/file").status_code == 404
    assert public.get(f"/reports?job={job_id}").status_code == 404
    # a signed-in form without its CSRF token is refused
    r = bureau.post("/reports/build", data={"report": "monthly", "month": "2025-02"}, follow_redirects=False)
    assert r.status_code == 403


def test_dispatch_steps_that_finish_an_event_are_confirmed(app):
    """撤销 and 转立案查处 finish an event like 办结: each asks for its confirmation (办结 always did)."""
    bureau = client(app, "bureau")
    with app.state.console.ledger.session() as s:
        ev = service(app, s, None).create_event(event_kind="violation", level="general", description="测试：无需处置")
        s.commit()
        eid = ev.id

    def status() -> str:
        with app.state.console.ledger.session() as s:
            return service(app, s, None).get(eid).status

    page = bureau.get(f"/dispatch/events/{eid}").text
    assert re.search(r'name="confirm" value="1" required> 确认撤销本事件', page)
    assert re.search(r'name="confirm" value="1" required> 确认转立案查处', page)
    assert 'name="confirm"' not in page.split('data-action="dispatch"')[1].split("</form>")[0]  # 派发 does not finish
    url = f"/dispatch/events/{eid}/action"
    r = bureau.post(url, data={"name": "cancel", "reason": "重复登记", "csrf": bureau.csrf}, follow_redirects=False)
    assert r.status_code == 422 and "请勾选确认" in text_of(r.text) and status() == "new"
    r = bureau.post(url, data={"name": "cancel", "reason": "重复登记", "csrf": bureau.csrf, "confirm": "1"},
                    follow_redirects=False)
    assert r.status_code == 303 and status() == "cancelled"
