"""Write one report in several formats: ``<stem>.docx``, ``<stem>.pdf`` and/or ``<stem>.html`` side by side.

Users name the output once (``-o 月报`` or ``-o 月报.docx``) and get every requested format, so the Word file that
is edited and the PDF that is published always come from the same document model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .model import Document

FORMATS: tuple[str, ...] = ("docx", "pdf", "html")
DEFAULT_FORMATS: tuple[str, ...] = ("docx", "pdf")


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"docx,pdf"`` (or a sequence) → ``("docx", "pdf")``: lower-cased, de-duplicated, validated."""
    items = text.replace("，", ",").split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for raw in items:
        f = raw.strip().lower().lstrip(".")
        if not f:
            continue
        if f not in FORMATS:
            raise ValueError(f"不支持的输出格式：{raw!r}（可选：{'、'.join(FORMATS)}）")
        if f not in out:
            out.append(f)
    if not out:
        raise ValueError(f"未指定输出格式（可选：{'、'.join(FORMATS)}）")
    return tuple(out)


def output_stem(output: str | Path) -> Path:
    """The path without a known report suffix: ``月报.docx`` → ``月报``; ``2024.05`` stays ``2024.05``."""
    p = Path(output)
    return p.with_suffix("") if p.suffix.lower().lstrip(".") in FORMATS else p


def write_report(document: Document, output: Path, formats: Sequence[str] = DEFAULT_FORMATS) -> list[Path]:
    """Write ``document`` as ``<stem>.<format>`` for each format; create the parent folders; return the paths."""
    fmts = parse_formats(formats)
    stem = output_stem(output)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in fmts:
        path = stem.with_name(f"{stem.name}.{fmt}")
        if fmt == "docx":
            from .docx_render import render_docx

            render_docx(document, path)
        elif fmt == "pdf":
            from .pdf_render import render_pdf

            render_pdf(document, path)
        else:
            from .pdf_render import render_html

            path.write_text(render_html(document), encoding="utf-8")
        written.append(path)
    return written
