"""Render a :class:`~qingshan.reports.model.Document` to PDF with Typst (PyPI ``typst``), and to one HTML file.

The same model that :mod:`.docx_render` writes to Word is laid out here as Typst source and compiled in-process:
no LibreOffice, no browser, and the CJK fonts are embedded, so the PDF looks the same everywhere. Layout follows
the Word renderer (GB/T 9704 where it applies): A4, margins top 37 / bottom 35 / left 28 / right 26 mm, body 三号
(16 pt) on a 29 pt line pitch with a two-character first-line indent, title 二号 bold in the sans (黑体-like)
family, level-1 headings in sans, level-2 in bold serif (no 楷体 ships with Noto), tables in 五号 with the header
row repeated on every page and the yellow/red highlight fills, footnotes and the provenance appendix as in Word.

**Text never becomes markup.** Every piece of user text is emitted as a Typst *string literal*
(:func:`typst_string`), where only ``\\`` and ``"`` (and control characters) need escaping — so ``#``, ``$``,
``*``, ``_``, `````, ``<``, ``>``, ``@``, ``[``, ``]``, ``//``, ``=`` or a leading ``-`` in a problem
description can never start a function call, equation, emphasis, label, comment, heading or list.

Figures are rendered to SVG (:func:`qingshan.charts.render.to_svg`) into the temporary folder next to the
``.typ`` file; Typst draws their text with the same registered CJK fonts.
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..charts.fonts import CJK_FAMILY, cjk_font_dir, serif_family
from ..charts.highlights import HIGHLIGHT_FILL
from ..errors import QingshanError
from .model import Block, Cell, Document, Figure, Footnote, Paragraph, Provenance, Section, Table

TYPE_WIDTH_CM = 15.6  # 210 − 28 − 26 mm
LEFT_ALIGN_FROM = 16  # a column with a cell longer than this many characters is left-aligned, not centred


class PdfRenderError(QingshanError, RuntimeError):
    """Typst could not lay out the document (the message carries Typst's diagnostic)."""


def typst_string(text: str) -> str:
    """``text`` as a Typst string literal; in content position it is shown verbatim (see the module docstring)."""
    out = ['"']
    for ch in str(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            continue
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _preamble(document: Document, sans: str, serif: str) -> str:
    s, f = typst_string(sans), typst_string(serif)
    return f"""#set document(title: {typst_string(document.title)}, author: "青山平台")
#set page(paper: "a4", margin: (top: 37mm, bottom: 35mm, left: 28mm, right: 26mm),
  footer: context align(center, text(font: {s}, size: 10.5pt)[— #counter(page).display() —]))
#set text(font: ({f}, {s}), size: 16pt, lang: "zh", region: "cn", top-edge: "ascender", bottom-edge: "descender")
#set par(leading: 13pt, spacing: 13pt, justify: true, first-line-indent: (amount: 2em, all: true))
#show heading: set text(size: 16pt)
#show heading: set block(above: 18pt, below: 13pt)
#show heading.where(level: 1): set text(font: ({s},), weight: "bold")
#show heading.where(level: 2): set text(font: ({f}, {s}), weight: "bold")
#show table.cell: set par(first-line-indent: 0pt, justify: false, leading: 4pt)
#show table.cell: set text(size: 10.5pt)
#show figure.caption: set text(font: ({s},), size: 12pt)
#let qs-note(body) = block(above: 8pt, below: 8pt,
  par(first-line-indent: 0pt, leading: 6pt, text(size: 12pt, body)))
#let qs-caption(body) = block(above: 14pt, below: 6pt, width: 100%,
  align(center, text(font: ({s},), size: 12pt, body)))
#let qs-head(body) = table.cell(text(font: ({s},), weight: "bold", body))
"""


def _title(document: Document, sans: str) -> str:
    s = typst_string(sans)
    title = (f"#align(center, block(below: 20pt, text(font: ({s},), size: 22pt, weight: \"bold\", "
             f"{typst_string(document.title)})))")
    out = [title]
    if document.subtitle:
        out.append(f"#align(center, block(below: 18pt, text(size: 16pt, {typst_string(document.subtitle)})))")
    return "\n".join(out)


def column_widths(t: Table) -> list[str]:
    """Typst column widths that span the type area like Word's tables.

    Weight of a column = its longest text (a header counts half, since it may wrap), clamped to 2…40. When some
    column holds long text (more than :data:`LEFT_ALIGN_FROM` characters), the short columns are ``auto`` (they
    keep their words on one line) and the long ones share the rest by weight; otherwise all share by weight.
    """
    weights = []
    for j, h in enumerate(t.header):
        longest = max([len(r[j].text) for r in t.rows] + [(len(h) + 1) // 2])
        weights.append(min(40, max(2, longest)))
    if any(w > LEFT_ALIGN_FROM for w in weights):
        return [f"{w}fr" if w > LEFT_ALIGN_FROM else "auto" for w in weights]
    return [f"{w}fr" for w in weights]


def _table(t: Table) -> str:
    n = len(t.header)
    left = [any(len(r[j].text) > LEFT_ALIGN_FROM for r in t.rows) for j in range(n)]
    aligns = ", ".join("left + horizon" if lft else "center + horizon" for lft in left)
    widths = ", ".join(column_widths(t))
    parts: list[str] = []
    if t.caption:
        parts.append(f"#qs-caption({typst_string(t.caption)})")
    cells = [f"table.header(repeat: true, {', '.join(f'qs-head({typst_string(h)})' for h in t.header)})"]
    for row in t.rows:
        cells.append(", ".join(_cell(c) for c in row))
    parts.append(f"#table(columns: ({widths},), align: ({aligns},), stroke: 0.5pt, inset: (x: 4pt, y: 5pt),\n  "
                 + ",\n  ".join(cells) + ",\n)")
    return "\n".join(parts)


def _cell(c: Cell) -> str:
    if c.highlight:
        return f"table.cell(fill: rgb(\"#{HIGHLIGHT_FILL[c.highlight]}\"), {typst_string(c.text)})"
    return typst_string(c.text) if c.text else "[]"


def provenance_table(pv: Provenance) -> Table:
    """The provenance appendix as a two-column table (the same rows as the Word renderer's)."""
    rows = [("评价规则", "；".join(pv.rulesets)), *pv.coverage,
            ("数据导入批次", "、".join(str(i) for i in pv.import_ids) if pv.import_ids else "—"),
            ("生成时间", pv.generated_at.strftime("%Y-%m-%d %H:%M:%S"))]
    return Table(["项目", "内容"], [[Cell(a), Cell(b)] for a, b in rows])


def _provenance(pv: Provenance) -> str:
    out = [_table(provenance_table(pv))]
    out += [f"#qs-note({typst_string(n)})" for n in pv.notes]
    return "\n".join(out)


def _figure(f: Figure, name: str) -> str:
    width = min(f.width_cm, TYPE_WIDTH_CM)
    return (f"#figure(image({typst_string(name)}, width: {width:g}cm), numbering: none, gap: 8pt,\n"
            f"  caption: {typst_string(f.caption)})")


def _block(b: Block, figures: dict[str, Figure]) -> str:
    if isinstance(b, Paragraph):
        if b.style == "note":
            return f"#qs-note({typst_string(b.text)})"
        return f"#par({typst_string(b.text)})"
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Footnote):
        return f"#qs-note({typst_string(f'{b.marker} {b.text}')})"
    if isinstance(b, Provenance):
        return _provenance(b)
    if isinstance(b, Figure):
        name = f"figure-{len(figures) + 1}.svg"
        figures[name] = b
        return _figure(b, name)
    raise TypeError(f"未知的文档块：{type(b).__name__}")  # pragma: no cover - the model is closed


def _section(s: Section, figures: dict[str, Figure]) -> Iterable[str]:
    yield f"#heading(level: {2 if s.level >= 2 else 1}, {typst_string(s.heading)})"
    for b in s.blocks:
        yield _block(b, figures)


def to_typst(document: Document, *, sans: str = CJK_FAMILY, serif: str = CJK_FAMILY) -> tuple[str, dict[str, Figure]]:
    """The Typst source of ``document`` and the figures it references (file name → :class:`Figure`)."""
    figures: dict[str, Figure] = {}
    parts = [_preamble(document, sans, serif), _title(document, sans)]
    for s in document.sections:
        parts.extend(_section(s, figures))
    return "\n\n".join(parts) + "\n", figures


def render_pdf(document: Document, path: str | Path) -> Path:
    """Write ``document`` to ``path`` as PDF (fonts embedded) and return the path.

    Raises :class:`qingshan.charts.fonts.FontMissing` when no CJK font is installed (the message names the
    Debian package), :class:`PdfRenderError` when Typst rejects the layout.
    """
    import typst

    path = Path(path)
    font_dir = cjk_font_dir()
    source, figures = to_typst(document, sans=CJK_FAMILY, serif=serif_family(font_dir))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="qingshan-typst-") as tmp:
        root = Path(tmp)
        if figures:
            from ..charts.render import to_svg

            for name, fig in figures.items():
                (root / name).write_text(to_svg(fig.spec), encoding="utf-8")
        main = root / "report.typ"
        main.write_text(source, encoding="utf-8")
        try:
            pdf = typst.compile(str(main), root=str(root), font_paths=[str(font_dir)])
        except typst.TypstError as e:
            raise PdfRenderError(f"PDF 排版失败：{e.message}\n{getattr(e, 'diagnostic', '')}") from None
    path.write_bytes(drop_default_suspects(pdf))
    return path


SUSPECTS_FALSE = b"/Suspects false"


def drop_default_suspects(pdf: bytes) -> bytes:
    """``pdf`` with the ``/Suspects false`` entry of the catalog's ``/MarkInfo`` blanked out.

    Typst writes ``/MarkInfo<</Marked true/Suspects false>>`` (a valid tagged PDF), but poppler 22 (Debian 12's
    pdftotext, pdfinfo, pdftoppm …) accepts only ``true`` there and prints "Syntax Error: Suspects object is wrong
    type (boolean)" on every read. ``false`` is the default of the entry (ISO 32000-1, table 321), so leaving it
    out changes nothing; it is overwritten with spaces of the same length, which keeps every byte offset of the
    cross-reference table valid and the PDF tagged.
    """
    start = pdf.find(b"/MarkInfo<<")
    if start < 0:
        return pdf
    at = pdf.find(SUSPECTS_FALSE, start, pdf.find(b">>", start))
    if at < 0:
        return pdf
    return pdf[:at] + b" " * len(SUSPECTS_FALSE) + pdf[at + len(SUSPECTS_FALSE):]


# --- HTML -----------------------------------------------------------------------------------------------------

_CSS = """
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", "SimSun", serif; max-width: 820px;
       margin: 2em auto; padding: 0 1em; font-size: 16px; line-height: 1.8; color: #111; }
h1.title { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; text-align: center; font-size: 26px; }
p.subtitle { text-align: center; }
h2, h3 { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; font-size: 18px; margin-top: 1.6em; }
h3 { font-family: inherit; }
p.body { text-indent: 2em; margin: 0.3em 0; }
p.note { font-size: 14px; margin: 0.4em 0; }
table { border-collapse: collapse; margin: 0.6em auto; font-size: 14px; line-height: 1.5; }
th, td { border: 1px solid #444; padding: 3px 6px; text-align: center; }
th { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; background: #f2f2f2; }
td.left { text-align: left; }
td:not(.left), th { white-space: nowrap; }
.caption { text-align: center; font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; font-size: 15px;
           margin-top: 1em; }
figure { margin: 1em 0; text-align: center; }
figure svg { max-width: 100%; height: auto; }
"""


def _html_table(t: Table) -> str:
    e = html.escape
    left = [any(len(r[j].text) > LEFT_ALIGN_FROM for r in t.rows) for j in range(len(t.header))]
    out = [f'<div class="caption">{e(t.caption)}</div>'] if t.caption else []
    out.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in t.header) + "</tr></thead><tbody>")
    for row in t.rows:
        tds = []
        for j, c in enumerate(row):
            style = f' style="background:#{HIGHLIGHT_FILL[c.highlight]}"' if c.highlight else ""
            cls = ' class="left"' if left[j] else ""
            tds.append(f"<td{cls}{style}>{e(c.text)}</td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _svg_inline(spec: dict) -> str:
    from ..charts.render import to_svg

    svg = to_svg(spec)
    return svg[svg.index("<svg"):] if "<svg" in svg else svg


def render_html(document: Document) -> str:
    """``document`` as one self-contained HTML page: charts are inline SVG, no script, no external file.

    Fonts are named (Noto CJK first, then common Windows fonts) rather than embedded, so the page stays small.
    """
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(document.title)}</title><style>{_CSS}</style></head><body>",
           f'<h1 class="title">{e(document.title)}</h1>']
    if document.subtitle:
        out.append(f'<p class="subtitle">{e(document.subtitle)}</p>')
    for s in document.sections:
        tag = "h3" if s.level >= 2 else "h2"
        out.append(f"<{tag}>{e(s.heading)}</{tag}>")
        for b in s.blocks:
            if isinstance(b, Paragraph):
                out.append(f'<p class="{"note" if b.style == "note" else "body"}">{e(b.text)}</p>')
            elif isinstance(b, Table):
                out.append(_html_table(b))
            elif isinstance(b, Footnote):
                out.append(f'<p class="note">{e(b.marker)} {e(b.text)}</p>')
            elif isinstance(b, Provenance):
                out.append(_html_table(provenance_table(b)))
                out += [f'<p class="note">{e(n)}</p>' for n in b.notes]
            elif isinstance(b, Figure):
                out.append(f"<figure>{_svg_inline(b.spec)}<figcaption class=\"caption\">{e(b.caption)}"
                           "</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)
