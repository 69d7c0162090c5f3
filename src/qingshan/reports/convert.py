"""External converters: LibreOffice (.docx → PDF) and poppler's pdftoppm (PDF page → PNG).

Some users prefer LibreOffice's rendering of the Word file to our Typst PDF (it shows exactly what the .docx
will look like when opened); the tests use both tools to check that a generated .docx really renders with CJK
fonts and that a PDF page is not blank. Both are Debian packages (``libreoffice-writer-nogui``,
``poppler-utils``), not Python dependencies, so a clear error names the package when one is missing.

LibreOffice keeps a user profile and refuses to run twice on the same one; every conversion therefore gets a
private throw-away profile (``-env:UserInstallation``), so parallel conversions (test workers, a server) never
collide or hang on a lock. A conversion that exceeds the timeout is killed with its whole process group
(``soffice`` starts ``soffice.bin`` as a child).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ..errors import QingshanError

SOFFICE_NAMES = ("soffice", "libreoffice")
LIBREOFFICE_PACKAGE = "libreoffice-writer-nogui"
POPPLER_PACKAGE = "poppler-utils"


class ConversionError(QingshanError, RuntimeError):
    """A converter is missing, failed or timed out (message in Chinese, with the tool's own output)."""


def soffice_path() -> str | None:
    """The LibreOffice executable on PATH, or None."""
    for name in SOFFICE_NAMES:
        if found := shutil.which(name):
            return found
    return None


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ConversionError(f"转换超时（{timeout:g} 秒）：{' '.join(cmd[:2])} …") from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def docx_to_pdf(docx: Path, outdir: Path, timeout: float = 180.0) -> Path:
    """Convert ``docx`` to ``outdir/<stem>.pdf`` with headless LibreOffice; return the PDF's path."""
    exe = soffice_path()
    if exe is None:
        raise ConversionError(f"未找到 LibreOffice（soffice），无法把 Word 文件转换为 PDF。"
                              f"请安装 Debian 软件包 {LIBREOFFICE_PACKAGE}（apt-get install {LIBREOFFICE_PACKAGE}）。")
    docx = Path(docx).resolve()
    if not docx.is_file():
        raise ConversionError(f"文件不存在：{docx}")
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / f"{docx.stem}.pdf"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="qingshan-lo-profile-") as profile:
        res = _run([exe, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
                    "--nolockcheck", "--convert-to", "pdf", "--outdir", str(outdir), str(docx)], timeout)
    if res.returncode != 0 or not target.is_file():
        raise ConversionError(f"LibreOffice 转换失败（退出码 {res.returncode}）：{(res.stderr or res.stdout).strip()}")
    return target


def pdf_page_png(pdf: Path, page: int, out_png: Path, dpi: int = 80, timeout: float = 60.0) -> Path:
    """Rasterise page ``page`` (1-based) of ``pdf`` to ``out_png`` with pdftoppm; return ``out_png``."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise ConversionError(f"未找到 pdftoppm，请安装 Debian 软件包 {POPPLER_PACKAGE}。")
    out_png = Path(out_png)
    if out_png.suffix.lower() != ".png":
        raise ValueError(f"输出文件应以 .png 结尾：{out_png}")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    res = _run([exe, "-f", str(page), "-l", str(page), "-r", str(dpi), "-png", "-singlefile", str(pdf),
                str(out_png.with_suffix(""))], timeout)
    if res.returncode != 0 or not out_png.is_file():
        raise ConversionError(f"pdftoppm 失败（第 {page} 页）：{res.stderr.strip()}")
    return out_png
