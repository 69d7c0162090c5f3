"""The one platform process (``qingshan serve``; src/qingshan/platform): its lock and local token, the refusal of
a second platform and of commands that would open the store, ``qingshan import`` handed to the running platform,
the jobs API and its roles, and the scheduler. Real processes on temporary workspaces (tests/platform_fixtures.py).
"""

from __future__ import annotations

import asyncio
import stat
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from .platform_fixtures import (
    add_users,
    cli,
    http,
    ledger_token,
    long_csv,
    start_platform,
    stop_platform,
    wait_job,
)

STATIONS = ["1001A", "1002A"]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    ws = tmp_path_factory.mktemp("platform") / "ws"
    ws.mkdir()
    add_users(ws)
    p = start_platform(ws)
    try:
        yield p, ws
    finally:
        stop_platform(p)


def test_lock_names_the_process_and_the_token_is_owner_only(platform):
    p, ws = platform
    assert p.running.pid == p.proc.pid and p.running.port > 0
    mode = stat.S_IMODE((ws / "platform.token").stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert p.running.token and len(p.running.token) >= 32


def test_second_serve_on_the_workspace_is_refused(platform):
    p, ws = platform
    r = cli(ws, "serve", "--port", "0")
    assert r.returncode == 2, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert str(p.running.pid) in out and p.url in out and "只能运行一个" in out
    assert "Traceback" not in out


def test_commands_that_open_the_store_are_refused_with_the_platform_named(platform):
    p, ws = platform
    r = cli(ws, "water", "evaluate", "--period", "2025")
    assert r.returncode == 2 and "qingshan serve" in r.stderr and p.url in r.stderr, r.stderr
    r = cli(ws, "hj212", "serve", "--port", "0")
    assert r.returncode == 2 and "--hj212-port" in r.stderr, r.stderr


def test_import_against_the_running_platform_prints_the_same_report(platform, tmp_path):
    p, ws = platform
    f = long_csv(tmp_path / f"hourly-{uuid.uuid4().hex[:6]}.csv", STATIONS, "2025-01-01 01:00", 48, bad_rows=2)
    alone = tmp_path / "alone"
    first_alone = cli(alone, "import", "long", str(f))  # no platform on this workspace: the command imports itself
    first = cli(ws, "import", "long", str(f))  # handed to the platform
    assert first_alone.returncode == first.returncode == 0, first.stderr
    batch = lambda out: out.replace("│    1 │", "│    N │").replace("│    2 │", "│    N │")  # noqa: E731
    assert batch(first.stdout) == batch(first_alone.stdout)
    assert "隔离" in first.stdout and "96" in first.stdout
    again_alone = cli(alone, "import", "long", str(f))
    again = cli(ws, "import", "long", str(f))
    assert again.returncode == again_alone.returncode == 0
    assert batch(again.stdout).replace("#1", "#N").replace("#2", "#N") == \
        batch(again_alone.stdout).replace("#1", "#N").replace("#2", "#N")
    assert "已于导入批次" in again.stdout  # re-importing changes nothing
    # the job is recorded, owned by the local operator
    status, jobs = http(p.url + "/api/v1/jobs?kind=import", token=p.running.token)
    assert status == 200 and any(j["owner"] == "本机命令行" and j["state"] == "done" for j in jobs)


def test_a_failing_import_reports_the_same_error(platform, tmp_path):
    p, ws = platform
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    alone = cli(tmp_path / "alone", "import", "long", str(bad))
    handed = cli(ws, "import", "long", str(bad))
    assert handed.returncode == alone.returncode == 2
    assert handed.stderr.strip().splitlines()[-1] == alone.stderr.strip().splitlines()[-1]


def test_jobs_api_needs_bureau_staff_or_the_local_token(platform, tmp_path):
    p, ws = platform
    assert http(p.url + "/api/v1/jobs")[0] == 401
    assert http(p.url + "/api/v1/jobs", token="not-a-token")[0] == 401
    district = ledger_token(p, "wujin")
    assert http(p.url + "/api/v1/jobs", token=district)[0] == 403
    bureau = ledger_token(p, "bureau")
    assert http(p.url + "/api/v1/jobs", token=bureau)[0] == 200
    body = b'{"kind": "long", "files": ["/etc/hostname"]}'
    # the internal hand-over takes the local token only, never a user's
    assert http(p.url + "/api/v1/jobs/imports/local", "POST", bureau, body, "application/json")[0] == 401
    assert http(p.url + "/api/v1/jobs/imports/local", "POST", None, body, "application/json")[0] == 401
    status, spec = http(p.url + "/api/v1/openapi.json")
    assert "/api/v1/jobs/imports/local" not in spec["paths"] and "/api/v1/jobs/imports" in spec["paths"]


def test_upload_through_the_api_gives_the_report_with_quarantined_rows(platform, tmp_path):
    p, ws = platform
    bureau = ledger_token(p, "bureau")
    f = long_csv(tmp_path / "upload.csv", STATIONS, "2025-02-01 01:00", 24, bad_rows=3)
    boundary = "b" + uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlong\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="upload.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n").encode() + f.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    status, job = http(p.url + "/api/v1/jobs/imports", "POST", bureau, body, f"multipart/form-data; boundary={boundary}")
    assert status == 202, job
    assert job["state"] in ("queued", "running", "done") and job["params"]["files"] == ["upload.csv"]
    job = wait_job(p, job["id"], bureau)
    assert job["state"] == "done", job
    (rep,) = job["result"]["reports"]
    assert rep["source"] == "upload.csv" and rep["rows_read"] == 48 and rep["quarantined"] == 3
    q = job["result"]["quarantine"]
    assert [(r["line"], r["field"]) for r in q] == [(2, "pm10"), (3, "pm10"), (4, "pm10")]
    assert all(r["reason"] and r["file"] == "upload.csv" for r in q)
    assert job["owner"] == "局工作人员"
    # a bad kind is refused before anything is queued
    bad = body.replace(b"\r\n\r\nlong\r\n", b"\r\n\r\nnope\r\n")
    status, err = http(p.url + "/api/v1/jobs/imports", "POST", bureau, bad, f"multipart/form-data; boundary={boundary}")
    assert status == 422 and "未知的导入类型" in str(err)


def test_scheduler_records_each_run_and_its_outcome(tmp_path):
    from qingshan.platform.jobs import JobStore
    from qingshan.platform.scheduler import Scheduler

    now = [datetime(2025, 3, 1, 9, 30)]
    store = JobStore(tmp_path / "jobs.sqlite")
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("数据源不可用")

    async def scenario() -> None:
        s = Scheduler(store, clock=lambda: now[0], tick=0.01)
        s.add("alarm", "hourly", lambda: ran.append("alarm") or {"n": len(ran)}, minute=5)
        s.add("broken", "daily", boom, hour=6)
        with pytest.raises(ValueError):
            s.add("alarm", "hourly", lambda: None)
        s.start()  # never ran before: each runs once at start (catch-up)
        await _until(lambda: {j["name"] for j in store.list("scheduled") if j["state"] != "running"}
                     == {"alarm", "broken"})
        assert s.tasks["alarm"].next_at == datetime(2025, 3, 1, 10, 5)
        now[0] = datetime(2025, 3, 1, 10, 5)  # the next hour's slot
        await _until(lambda: ran.count("alarm") == 2)
        await s.stop()

    asyncio.run(scenario())
    runs = store.list("scheduled")
    alarm = [j for j in runs if j["name"] == "alarm"]
    assert [j["state"] for j in alarm] == ["done", "done"] and alarm[0]["result"] == {"n": 2}
    (broken,) = [j for j in runs if j["name"] == "broken"]
    assert broken["state"] == "failed" and "数据源不可用" in broken["error"]
    # a restart soon after does not run them again: their last runs are recent
    s2 = Scheduler(store, clock=lambda: now[0] + timedelta(minutes=1))
    s2.add("alarm", "hourly", lambda: None, minute=5)
    asyncio.run(_start_and_stop(s2))
    assert s2.tasks["alarm"].next_at == datetime(2025, 3, 1, 11, 5)


async def _start_and_stop(s) -> None:
    s.start()
    await s.stop()


async def _until(cond, timeout: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_upload_names_cannot_escape_the_job_folder():
    from qingshan.platform.jobs import safe_name

    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\x.csv") == "x.csv"
    assert safe_name("") == "upload" and safe_name("..") == "upload"
    assert Path(safe_name("a/b/数据 2025.csv")).name == "数据 2025.csv"


def test_console_upload_page_shows_progress_and_the_report(platform, tmp_path):
    """A bureau user imports a file from /imports in a real browser (phone width): the page follows the job and
    shows the import report with the quarantined rows; the public and a district user get no such page."""
    from .browser import launched

    p, ws = platform
    f = long_csv(tmp_path / "browser.csv", STATIONS, "2025-02-10 01:00", 24, bad_rows=2)
    assert http(p.url + "/imports")[0] == 401
    assert http(p.url + "/imports", token=ledger_token(p, "wujin"))[0] == 403
    with launched() as browser:
        page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
        page.goto(p.url + "/login")
        page.fill("input[name=username]", "bureau")
        page.fill("input[name=password]", "platform-test-pw-1")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(p.url + "/imports")
        assert page.locator("nav a[href='/imports']").count() == 1
        page.select_option("select[name=kind]", "long")
        page.set_input_files("input[name=files]", str(f))
        page.click("form[data-form=import] button[type=submit]")
        page.wait_for_selector("#job[data-job-state=done]", timeout=120_000)
        report = page.locator("table[data-table=import-report] tbody tr")
        assert report.count() == 1 and "browser.csv" in report.inner_text()
        cells = report.locator("td").all_inner_texts()
        assert cells[2:] == ["48", "48", "0", "0", "2"]
        q = page.locator("table[data-table=quarantine] tbody tr")
        assert q.count() == 2 and "pm10" in q.first.inner_text()
        # the page's own content stays within 390 px (wide tables scroll inside their .table-wrap; the top
        # bar shared by every page is the phone layout's business)
        wide = page.evaluate("""Array.from(document.querySelectorAll('main *'))
            .filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + '.' + e.className)""")
        assert wide == [], f"390 px 宽度下超出屏幕的元素：{wide}"


def test_backup_while_running_is_a_consistent_export(platform, tmp_path):
    import duckdb

    p, ws = platform
    f = long_csv(tmp_path / "for-backup.csv", STATIONS, "2025-04-01 01:00", 24)
    assert cli(ws, "import", "long", str(f)).returncode == 0
    r = cli(ws, "backup", "--to", str(tmp_path / "bk"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "bk" / "schema.sql").exists() and list((tmp_path / "bk").glob("*.parquet"))
    status, jobs = http(p.url + "/api/v1/jobs?kind=import&limit=500", token=p.running.token)
    expected = sum(rep["new"] for j in jobs if j["state"] == "done" for rep in j["result"]["reports"])
    con = duckdb.connect(str(tmp_path / "restored.duckdb"))
    try:
        con.execute(f"IMPORT DATABASE '{tmp_path / 'bk'}'")
        assert con.execute("SELECT count(*) FROM air_hourly").fetchone()[0] == expected > 0
    finally:
        con.close()
    status, backups = http(p.url + "/api/v1/jobs?kind=backup", token=p.running.token)
    assert backups[0]["state"] == "done" and backups[0]["owner"] == "本机命令行"
    # a second backup into the same folder is refused with one line, nothing overwritten
    again = cli(ws, "backup", "--to", str(tmp_path / "bk"))
    assert again.returncode == 2 and "已存在" in again.stderr and "内部错误" not in again.stderr
    # without a platform the command exports the store itself
    alone = tmp_path / "alone"
    assert cli(alone, "import", "long", str(f)).returncode == 0
    r = cli(alone, "backup", "--to", str(tmp_path / "bk2"))
    assert r.returncode == 0 and (tmp_path / "bk2" / "schema.sql").exists(), r.stderr


def test_the_platform_schedules_the_alarm_rules_and_the_escalation(tmp_path: Path) -> None:
    """The hourly alarm rules run on the store writer and write the alarms table; the dispatch escalation is
    registered beside them (docs/deployment.md)."""
    import duckdb
    import pyarrow as pa

    from qingshan.platform.jobs import JobStore
    from qingshan.platform.scheduler import Scheduler
    from qingshan.platform.service import alarm_rules, register_default_tasks
    from qingshan.platform.writer import StoreWriter
    from qingshan.store.alarms import list_alarms
    from qingshan.store.workspace import Workspace

    h0 = 470_000
    with Workspace(tmp_path / "ws") as ws:
        ws.upsert_stations(pa.table({"code": ["A"], "name": ["甲站"], "city": ["示范市"], "district": ["天宁区"],
                                     "lon": [120.0], "lat": [31.8], "is_control": [False], "status": [None],
                                     "import_id": [0]}))
        values = [30.0 + (i % 3) for i in range(48)] + [140.0]
        ws.upsert_air_hourly(pa.table({"station": ["A"] * 49, "hi": list(range(h0, h0 + 49)), "pm25": values,
                                       "import_id": [1] * 49}))
    con = duckdb.connect(str(tmp_path / "ws" / "measurements.duckdb"))
    writer = StoreWriter(tmp_path / "ws", con)
    try:
        first = alarm_rules(None, tmp_path / "ws", writer)
        again = alarm_rules(None, tmp_path / "ws", writer)
        assert first["window"] == [h0 + 48 - 23, h0 + 48] and first["new"] >= 1 and again["new"] == 0
        rows = list_alarms(con.cursor())
        assert ("air.spike_baseline", "pm25") in set(zip(rows["rule"], rows["pollutant"]))
        sched = Scheduler(JobStore(tmp_path / "jobs.sqlite"))
        register_default_tasks(sched, None, tmp_path / "ws", writer)
        assert {"alarm-rules", "dispatch-escalation", "overview-warm-up", "monthly-report-draft"} <= set(sched.tasks)
    finally:
        writer.shutdown()
        con.close()


def test_a_console_without_the_platform_has_no_job_routes(tmp_path: Path) -> None:
    """The job queue and the 导入 page exist in the platform process only; an app built without it answers 404
    there (schemathesis found 503 'server errors' on every job route of such an app) and shows no 导入 link."""
    from fastapi.testclient import TestClient

    from qingshan.web.app import create_console_app

    app = create_console_app(tmp_path / "ws", warm=False)
    with TestClient(app) as c:
        assert c.get("/api/v1/jobs").status_code == 404
        assert c.get("/api/v1/jobs/import-kinds").status_code == 404
        assert "/api/v1/jobs" not in c.get("/api/v1/openapi.json").json()["paths"]
        page = c.get("/")
        assert page.status_code == 200 and 'href="/imports"' not in page.text
