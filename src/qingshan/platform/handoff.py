"""How a writing command hands its work to the running platform (``qingshan import`` while ``serve`` runs).

The command finds the platform through the workspace's lock file (:mod:`.lock`), hands the paths of its files
to ``POST /api/v1/jobs/imports/local`` on loopback with the local token (the platform, running under the same
account, copies them into the job's upload folder before it answers; no size limit of an HTTP upload applies), follows the job (``GET /api/v1/jobs/<id>``) and
returns it when finished; the command prints the job's reports exactly as it prints its own. Only the standard
library is used (the command line must not need an HTTP client package).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import QingshanError
from .lock import RunningPlatform


class HandoffError(QingshanError):
    """The running platform could not take or finish the work (the message is user-facing)."""


def _call(platform: RunningPlatform, method: str, path: str, body: bytes | None = None,
          content_type: str | None = None, timeout: float = 600.0) -> Any:
    if platform.token is None:
        raise HandoffError(f"平台正在运行（{platform.describe()}），但本用户无法读取其令牌文件 platform.token："
                           f"请以运行平台的用户执行本命令，或在控制台“导入”页上传文件")
    req = urllib.request.Request(platform.url + path, data=body, method=method)
    req.add_header("Authorization", f"Bearer {platform.token}")
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback URL from the lock file
            return json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        try:
            detail = json.loads(e.read().decode("utf-8")).get("detail")
        except (ValueError, AttributeError):
            detail = None
        raise HandoffError(f"平台（{platform.describe()}）拒绝了请求：{detail or e.reason}（HTTP {e.code}）") from None
    except (urllib.error.URLError, OSError) as e:
        raise HandoffError(f"无法连接正在运行的平台（{platform.describe()}）：{e}") from None


def hand_import(platform: RunningPlatform, kind: str, files: list[Path], options: dict[str, Any],
                progress: Callable[[int], None] | None = None, poll: float = 0.2) -> dict[str, Any]:
    """Upload ``files`` as an import job of ``kind``, wait for it, return the finished job.

    ``progress(n)`` is called with the number of files done whenever it grows."""
    for f in files:
        if not f.is_file():
            raise HandoffError(f"文件不存在或不是普通文件：{f}")
    body = json.dumps({"kind": kind, "files": [str(f.resolve()) for f in files],
                       "hour_beginning": options.get("hour_beginning"), "year": options.get("year")}).encode()
    job = _call(platform, "POST", "/api/v1/jobs/imports/local", body, "application/json")
    done = 0
    while job["state"] in ("queued", "running"):
        n = int((job.get("progress") or {}).get("files_done") or 0)
        if progress is not None and n > done:
            progress(n - done)
            done = n
        time.sleep(poll)
        job = _call(platform, "GET", f"/api/v1/jobs/{job['id']}", timeout=30.0)
    n = int((job.get("progress") or {}).get("files_done") or 0)
    if progress is not None and n > done:
        progress(n - done)
    return job


def hand_backup(platform: RunningPlatform, target: Path | None) -> dict[str, Any]:
    """Ask the platform to export its store into ``target`` (default: ``<workspace>/backups/<time>``)."""
    body = json.dumps({"target": str(target.resolve()) if target is not None else None}).encode()
    return _call(platform, "POST", "/api/v1/jobs/backup/local", body, "application/json", timeout=3600.0)
