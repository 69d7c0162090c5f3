"""The platform's job queue: imports and report builds run in the background, one record per job.

**Records.** Jobs (imports, and the runs of scheduled tasks: :mod:`.scheduler`) are kept in a small SQLite file, ``<workspace>/platform-jobs.sqlite`` (not in the DuckDB
store): a job must be recorded — acknowledged — while the store's single writer is busy with another import for
minutes, and its progress is updated while that writer runs; SQLite commits in milliseconds from any thread and
survives a ``kill -9`` (journal mode WAL, synchronous FULL).

**States.** ``queued`` → ``running`` (progress: files done of total, the file being read) → ``done`` (the import
reports and the quarantined rows) or ``failed`` (the error, and the reports of the files stored before it).

**Report builds** (kind ``report``; the console's 报告 page): the builders only read (store cursors, the ledger),
so they run one at a time on a thread of their own, not on the store writer, and an import never waits for them.
Progress is the build's stage (排队等待 → 正在汇总数据 → 正在写出文件 → 完成); the file is kept in
``<workspace>/report-files/<job>/`` for ``keep_days``. A build cut off by a crash is recorded as failed (the user
starts it again). At most :data:`MAX_QUEUED_REPORTS` wait at once.

**Restart.** An uploaded file is spooled into ``<workspace>/uploads/<job>/`` (0600, fsync'd) *before* the job is
recorded, and the job is recorded before the request is answered. A job found ``queued`` or ``running`` at start
was cut off by a crash: it runs again. Imports are idempotent (a file imported twice changes nothing), so the
re-run leaves the store as one run would have. Uploads of finished jobs are deleted after ``keep_days``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import QingshanError
from .importing import KINDS, BadImportRequest, check_request, report_dict, run_import, title_of
from .writer import StoreWriter

log = logging.getLogger("qingshan.platform.jobs")

JOBS_FILE = "platform-jobs.sqlite"
UPLOADS_DIR = "uploads"
REPORTS_DIR = "report-files"
#: report builds waiting at once (a busy console refuses more with a clear message instead of queueing forever)
MAX_QUEUED_REPORTS = 20
#: builds a report: (report kind, parameters, public caller, folder to write into, progress(stage)) → result
#: dict with ``file`` (the path written), ``name`` (the download's name), ``media`` (its media type), ``log``
ReportBuilder = Callable[[str, dict[str, Any], bool, Path, Callable[[str], None]], dict[str, Any]]
#: quarantined rows returned with a job's report (the rest: ``qingshan quarantine --import N``)
QUARANTINE_SHOWN = 200
_UNSAFE = re.compile(r"[^\w.\-（）()\u4e00-\u9fff ]+")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,          -- import | scheduled | backup | report
    name TEXT NOT NULL,          -- import kind, scheduled task, "store"
    params TEXT NOT NULL,        -- JSON: options, files
    owner TEXT NOT NULL,
    state TEXT NOT NULL,         -- queued | running | done | failed
    progress TEXT,               -- JSON
    result TEXT,                 -- JSON
    error TEXT,
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    runs INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created);
"""


class JobError(QingshanError, ValueError):
    """A job cannot be accepted (the message is user-facing; a ValueError for the API's 422)."""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def safe_name(name: str) -> str:
    """An uploaded file's name reduced to its last part and harmless characters (it becomes a file name here)."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .") or "upload"
    return base[:120]


class JobStore:
    """The job records (module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        self._con = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=FULL")
        self._con.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def create(self, kind: str, name: str, params: dict[str, Any], owner: str, state: str = "queued",
               progress: dict[str, Any] | None = None) -> dict:
        job_id = uuid.uuid4().hex[:16]
        with self._lock:
            self._con.execute("INSERT INTO jobs (id, kind, name, params, owner, state, progress, created) "
                              "VALUES (?,?,?,?,?,?,?,?)",
                              (job_id, kind, name, json.dumps(params, ensure_ascii=False), owner, state,
                               json.dumps(progress, ensure_ascii=False) if progress else None, utc_now()))
        job = self.get(job_id)
        assert job is not None
        return job

    def update(self, job_id: str, **fields: Any) -> None:
        cols, vals = [], []
        for k, v in fields.items():
            assert k in ("state", "progress", "result", "error", "started", "finished", "runs"), k
            cols.append(f"{k} = ?")
            vals.append(json.dumps(v, ensure_ascii=False) if k in ("progress", "result") and v is not None else v)
        with self._lock:
            self._con.execute(f"UPDATE jobs SET {', '.join(cols)} WHERE id = ?", (*vals, job_id))

    def get(self, job_id: str) -> dict | None:
        with self._lock:
            cur = self._con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,))
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        return _job(dict(zip(names, row))) if row else None

    def list(self, kind: str | None = None, limit: int = 50) -> list[dict]:
        where, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
        with self._lock:
            cur = self._con.execute(f"SELECT * FROM jobs {where} ORDER BY created DESC, id LIMIT ?", (*args, limit))
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [_job(dict(zip(names, r))) for r in rows]

    def unfinished(self) -> list[dict]:
        with self._lock:
            cur = self._con.execute("SELECT * FROM jobs WHERE state IN ('queued', 'running') ORDER BY created, id")
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [_job(dict(zip(names, r))) for r in rows]


def _job(row: dict) -> dict:
    for k in ("params", "progress", "result"):
        row[k] = json.loads(row[k]) if row[k] else ({} if k == "params" else None)
    return row


class JobQueue:
    """Accepts import jobs, records them, runs them in order on the store writer, and re-runs the jobs a crash
    cut off."""

    def __init__(self, workspace: Path, writer: StoreWriter, token: str, *, keep_days: float = 7.0) -> None:
        self.workspace = Path(workspace)
        self.writer = writer
        self.token = token  # the local token: commands of the owner hand their imports over with it
        self.jobs = JobStore(self.workspace / JOBS_FILE)
        self.uploads = self.workspace / UPLOADS_DIR
        self.uploads.mkdir(mode=0o700, exist_ok=True)
        self.keep_days = keep_days
        self.reports = self.workspace / REPORTS_DIR
        self.report_builder: ReportBuilder | None = None  # set by the platform (it knows the console)
        self._report_pool: ThreadPoolExecutor | None = None
        self._report_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[str] | None = None
        self._task: asyncio.Task[None] | None = None

    # -- what the API calls ----------------------------------------------------------------------------------------

    @staticmethod
    def import_kinds() -> list[dict[str, Any]]:
        return [{"name": k.name, "label": k.label, "single": k.single, "options": list(k.options)}
                for k in KINDS.values()]

    def submit_import(self, kind: str, files: list[tuple[str, bytes]], options: dict[str, Any], owner: str) -> dict:
        """Spool uploaded files, record the job (queued), schedule it; returns the job. Thread-safe."""
        return self._submit(kind, [(name, name, lambda f, d=data: f.write(d)) for name, data in files], options, owner)

    def submit_local_import(self, kind: str, paths: list[str], options: dict[str, Any], owner: str) -> dict:
        """The same for files on this machine (``qingshan import`` run by the platform's account hands over their
        paths): they are copied into the job's upload folder first, so the job does not depend on them."""
        sources = [Path(p) for p in paths]
        for p in sources:
            if not p.is_absolute() or not p.is_file():
                raise JobError(f"文件不存在或不是普通文件：{p}")
            if not os.access(p, os.R_OK):
                raise JobError(f"平台进程的账户无法读取文件 {p}：请以运行平台的账户执行，或在控制台“导入”页上传")

        def copier(src: Path) -> Any:
            def write(f: Any) -> None:
                with open(src, "rb") as inp:
                    shutil.copyfileobj(inp, f, 1 << 20)
            return write

        return self._submit(kind, [(p.name, str(p), copier(p)) for p in sources], options, owner)

    def _submit(self, kind: str, files: list[tuple[str, str, Callable[[Any], None]]], options: dict[str, Any],
                owner: str) -> dict:
        """``files``: (name, label, write) — the file's name, what reports and errors call it (its path on the
        caller's side, or the uploaded name), and a function writing its bytes."""
        try:
            opts = check_request(kind, len(files), options)
        except BadImportRequest as e:
            raise JobError(str(e)) from None
        folder = self.uploads / uuid.uuid4().hex[:16]
        folder.mkdir(mode=0o700)
        paths: list[str] = []
        used: set[str] = set()
        try:
            for i, (name, _, write) in enumerate(files):
                fname = safe_name(name)
                if fname in used:
                    fname = f"{i + 1}-{fname}"
                used.add(fname)
                p = folder / fname
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    write(f)
                    f.flush()
                    os.fsync(f.fileno())
                paths.append(str(p))
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        # recorded (acknowledged) only once its files are durable: a crash after this re-runs it (start())
        job = self.jobs.create("import", kind, {"options": opts, "files": paths, "names": [n for n, _, _ in files],
                                                "labels": [label for _, label, _ in files]},
                               owner, progress={"files_done": 0, "files_total": len(paths), "stage": "排队等待"})
        self._schedule(job["id"])
        return job

    def submit_report(self, report: str, params: dict[str, Any], owner: str, public: bool) -> dict:
        """Record a report build (queued) and start it on the report thread; returns the job. Thread-safe.
        ``public``: built as the public sees it (the builders leave out what only signed-in users see)."""
        if self.report_builder is None or self._report_pool is None:
            raise JobError("报告生成服务尚未启动，请稍后再试")
        with self._report_lock:
            waiting = sum(1 for j in self.jobs.list("report", limit=MAX_QUEUED_REPORTS + 50)
                          if j["state"] in ("queued", "running"))
            if waiting >= MAX_QUEUED_REPORTS:
                raise JobError(f"正在排队的报告已有 {waiting} 份，请稍后再试")
            job = self.jobs.create("report", report, {**params, "public": bool(public)}, owner,
                                   progress={"stage": "排队等待", "step": 0, "steps": 3})
        self._report_pool.submit(self._run_report, job["id"])
        return job

    def _run_report(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None or job["state"] != "queued" or self.report_builder is None:
            return
        params = dict(job["params"])
        public = bool(params.pop("public", False))
        self.jobs.update(job_id, state="running", started=utc_now(), runs=int(job["runs"]) + 1,
                         progress={"stage": "正在汇总数据", "step": 1, "steps": 3})

        def stage(text: str) -> None:
            self.jobs.update(job_id, progress={"stage": text, "step": 2, "steps": 3})

        folder = self.reports / job_id
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            result = self.report_builder(job["name"], params, public, folder, stage)
        except Exception as e:  # the builder's refusal (Chinese, one line) or a bug, recorded; the thread goes on
            text, _ = _error_text(e)
            shutil.rmtree(folder, ignore_errors=True)
            self.jobs.update(job_id, state="failed", finished=utc_now(), error=text,
                             progress={"stage": "失败", "step": 3, "steps": 3})
            return
        self.jobs.update(job_id, state="done", finished=utc_now(), result=result,
                         progress={"stage": "完成", "step": 3, "steps": 3})

    def report_file(self, job: dict) -> Path | None:
        """The file of a finished report job (``None`` when it is not done or its file has been cleaned up)."""
        result = job.get("result") or {}
        if job.get("kind") != "report" or job.get("state") != "done" or not result.get("file"):
            return None
        path = Path(result["file"])
        # only files of this queue's report folder are ever served
        if path.parent != self.reports / job["id"] or not path.is_file():
            return None
        return path

    async def backup(self, target: str | None, owner: str) -> dict:
        """Export the store (:func:`qingshan.store.backup.export_store`) on the writer thread, between two writes;
        recorded as a job of kind ``backup``. Default folder: ``<workspace>/backups/<UTC time>``."""
        from ..store.backup import export_store

        folder = Path(target) if target else \
            self.workspace / "backups" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        if not folder.is_absolute():
            raise JobError(f"备份目录应为绝对路径：{folder}")
        job = self.jobs.create("backup", "store", {"target": str(folder)}, owner, state="running")
        self.jobs.update(job["id"], started=utc_now(), runs=1)
        try:
            await self.writer.run(lambda ws: export_store(ws.con, folder))
        except Exception as e:
            text, _ = _error_text(e)
            self.jobs.update(job["id"], state="failed", finished=utc_now(), error=text)
        else:
            self.jobs.update(job["id"], state="done", finished=utc_now(), result={"folder": str(folder)})
        return self.get(job["id"])  # type: ignore[return-value]

    def get(self, job_id: str) -> dict | None:
        return self.jobs.get(job_id)

    def list(self, kind: str | None = None, limit: int = 50) -> list[dict]:
        return self.jobs.list(kind, limit)

    # -- running ---------------------------------------------------------------------------------------------------

    def _schedule(self, job_id: str) -> None:
        if self._loop is None or self._queue is None:
            return  # not started yet: start() picks up every queued job
        self._loop.call_soon_threadsafe(self._queue.put_nowait, job_id)

    async def start(self) -> None:
        """Start the worker; jobs cut off by a crash are queued again (first, in their order)."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        for job in self.jobs.unfinished():
            if job["kind"] != "import":  # a scheduled run or a backup cut off: recorded as such, it runs on its schedule
                self.jobs.update(job["id"], state="failed", finished=utc_now(), error="平台中断，任务未完成")
                continue
            if job["state"] == "running":
                log.warning("任务 %s 在上次运行中被中断，重新运行", job["id"])
            self.jobs.update(job["id"], state="queued")
            self._queue.put_nowait(job["id"])
        self._task = asyncio.create_task(self._work(), name="platform-jobs")
        self.reports.mkdir(mode=0o700, exist_ok=True)
        self._report_pool = ThreadPoolExecutor(1, thread_name_prefix="qingshan-report")
        await asyncio.get_running_loop().run_in_executor(None, self._clean_uploads)
        await asyncio.get_running_loop().run_in_executor(None, self._clean_reports)

    async def stop(self) -> None:
        if self._report_pool is not None:  # the build running finishes; those waiting are failed at next start
            pool, self._report_pool = self._report_pool, None
            await asyncio.get_running_loop().run_in_executor(None, lambda: pool.shutdown(True, cancel_futures=True))
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def close(self) -> None:
        """Close the job records (after the store writer has finished the job it was running)."""
        self.jobs.close()

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            job_id = await self._queue.get()
            job = self.jobs.get(job_id)
            if job is None or job["state"] not in ("queued",):
                continue
            try:
                await self.writer.run(lambda ws, j=job: self._run_import(ws, j))
            except asyncio.CancelledError:
                raise
            except Exception:  # recorded as failed by the runners; never stop the worker
                log.exception("任务 %s 失败", job_id)

    def _run_import(self, ws: Any, job: dict) -> None:
        from ..store.read import quarantine_rows

        job_id = job["id"]
        paths = [Path(p) for p in job["params"]["files"]]
        total = len(paths)
        done = 0
        self.jobs.update(job_id, state="running", started=utc_now(), runs=int(job["runs"]) + 1,
                         progress={"files_done": 0, "files_total": total, "stage": "正在导入"})

        def step(source: str) -> None:
            nonlocal done
            done += 1
            self.jobs.update(job_id, progress={"files_done": done, "files_total": total,
                                               "stage": "正在导入", "file": Path(source).name})

        reports: list[Any] = []
        error: str | None = None
        code = 0
        try:
            run_import(ws, job["name"], paths, job["params"]["options"], step, reports)
        except Exception as e:  # the job's error, as the command line would print it
            error, code = _error_text(e)
        # reports and errors name the files as the caller knows them, not by their copy in the upload folder
        labels = dict(zip(job["params"]["files"], job["params"].get("labels") or job["params"]["files"]))
        for spooled, label in labels.items():
            if error:
                error = error.replace(spooled, label)
        for r in reports:
            r.source = labels.get(r.source, r.source)
        quarantine: list[dict[str, Any]] = []
        for r in reports:
            if r.quarantined and len(quarantine) < QUARANTINE_SHOWN:
                for iid, source, line, fld, raw, reason in quarantine_rows(ws.con, r.import_id,
                                                                            QUARANTINE_SHOWN - len(quarantine)):
                    quarantine.append({"import_id": iid, "file": Path(source).name, "line": line, "field": fld,
                                       "raw": raw, "reason": reason})
        result = {"title": title_of(job["name"]), "reports": [report_dict(r) for r in reports], "exit_code": code,
                  "quarantine": quarantine, "quarantined_total": sum(r.quarantined for r in reports)}
        self.jobs.update(job_id, state="failed" if error else "done", finished=utc_now(), result=result, error=error,
                         progress={"files_done": done, "files_total": total, "stage": "失败" if error else "完成"})

    def _clean_uploads(self) -> None:
        """Delete the uploads of jobs finished more than ``keep_days`` ago, and folders no job names (a crash
        between spooling and recording: that upload was never acknowledged)."""
        keep: set[str] = set()
        cutoff = time.time() - self.keep_days * 86400
        for job in self.jobs.list("import", limit=1_000_000):
            files = job["params"].get("files") or []
            if not files:
                continue
            folder = Path(files[0]).parent.name
            finished = job["finished"]
            if job["state"] in ("queued", "running") or not finished or \
                    datetime.fromisoformat(finished).timestamp() > cutoff:
                keep.add(folder)
        for d in self.uploads.iterdir():
            if d.is_dir() and d.name not in keep:
                shutil.rmtree(d, ignore_errors=True)


    def _clean_reports(self) -> None:
        """Delete the files of report builds finished more than ``keep_days`` ago (and folders no job names)."""
        cutoff = time.time() - self.keep_days * 86400
        keep = {j["id"] for j in self.jobs.list("report", limit=1_000_000)
                if not j["finished"] or datetime.fromisoformat(j["finished"]).timestamp() > cutoff}
        for d in self.reports.iterdir():
            if d.is_dir() and d.name not in keep:
                shutil.rmtree(d, ignore_errors=True)


def _error_text(e: BaseException) -> tuple[str, int]:
    """One line and the command line's exit code, as :func:`qingshan.cli.errors.import_errors` gives them (2: a
    file or store that cannot be used; 1: a bug)."""
    import duckdb

    from ..ingest.common import IngestError

    code = 2
    if isinstance(e, (IngestError, duckdb.IOException, QingshanError)):
        text = str(e)
    elif isinstance(e, MemoryError):
        text = "内存不足：文件过大或格式异常，请拆分文件后重试"
    else:
        log.error("导入任务出错", exc_info=e)
        text, code = f"内部错误 {type(e).__name__}: {e}（详见平台日志）", 1
    return " ".join(text.split())[:500], code
