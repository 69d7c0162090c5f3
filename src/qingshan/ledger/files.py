"""Attachment storage: size and type limits, content-addressed files under the workspace, outside any web root.

Files go to ``<workspace>/ledger-files/<aa>/<bb>/<sha256>.<ext>``, readable by the server's user only (folders
0700, files 0600: they hold complainants' letters and enforcement evidence). Nothing serves that folder: the API streams a
file only after the permission check of its record, as a download (``Content-Disposition: attachment``,
``X-Content-Type-Options: nosniff``), with the content type derived from our own type table — never from the
uploader's claim.

A file is accepted only if its extension is in :data:`ALLOWED` **and** its first bytes match that type's
signature (a renamed executable is refused); its size must not exceed ``max_bytes`` (default 20 MiB, set by the
app or ``QINGSHAN_LEDGER_MAX_UPLOAD``).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..settings import current as current_settings
from .rbac import LedgerError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)

# extension -> (content type, allowed leading signatures; empty tuple = text, checked for NUL bytes)
ALLOWED: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "doc": ("application/msword", _OLE),
    "xls": ("application/vnd.ms-excel", _OLE),
    "ofd": ("application/ofd", _ZIP),
    "txt": ("text/plain; charset=utf-8", ()),
}


class UploadRejected(LedgerError):
    """The file is too large, of a type we do not accept, or does not look like its extension."""


@dataclass(frozen=True)
class StoredFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str


def safe_filename(name: str) -> str:
    """The uploader's file name reduced to a harmless display name: no paths, no control characters, and no
    format characters (Unicode Cf: bidi overrides such as U+202E that make ``exe.pdf`` display as ``fdp.exe``,
    zero-width characters)."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    name = "".join("" if (cat := unicodedata.category(ch)) == "Cf" else "_" if cat in ("Cc", "Zl", "Zp") else ch
                   for ch in name)
    name = re.sub(r"[<>:\"|?*]", "_", name).strip(" .")
    return name[:200] or "file"


def check(filename: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str]:
    """Validate one upload; return (extension, content type) or raise :class:`UploadRejected`."""
    if len(data) > max_bytes:
        raise UploadRejected(f"文件 {filename} 超过大小上限 {max_bytes // (1024 * 1024)} MiB")
    if not data:
        raise UploadRejected(f"文件 {filename} 为空")
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in ALLOWED:
        raise UploadRejected(f"不接受的文件类型 .{ext or '?'}（允许：{'、'.join(sorted(ALLOWED))}）")
    ctype, signatures = ALLOWED[ext]
    if signatures:
        if not any(data.startswith(sig) for sig in signatures):
            raise UploadRejected(f"文件 {filename} 的内容与扩展名 .{ext} 不符")
    elif b"\x00" in data[:8192]:
        raise UploadRejected(f"文件 {filename} 不是文本文件")
    return ext, ctype


def private_dirs(root: Path, folder: Path) -> None:
    """Create ``folder`` (inside ``root``) and any missing parent up to ``root`` with mode 0700."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        if p == root or p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)  # mkdir's mode is masked by the umask


class FileStore:
    """Content-addressed attachment files of one workspace."""

    def __init__(self, root: Path, max_bytes: int | None = None):
        self.root = Path(root)
        self.max_bytes = max_bytes or current_settings().max_upload_bytes or DEFAULT_MAX_BYTES

    def put(self, filename: str, data: bytes) -> StoredFile:
        name = safe_filename(filename)
        ext, ctype = check(name, data, self.max_bytes)
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest[2:4]}/{digest}.{ext}"
        path = self.root / key
        if not path.exists():
            private_dirs(self.root, path.parent)
            tmp = path.with_suffix(path.suffix + ".part")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return StoredFile(name, ctype, len(data), digest, key)

    def path(self, storage_key: str) -> Path:
        p = (self.root / storage_key).resolve()
        if self.root.resolve() not in p.parents:
            raise UploadRejected("非法的文件路径")
        return p

    def read(self, storage_key: str) -> bytes:
        return self.path(storage_key).read_bytes()
