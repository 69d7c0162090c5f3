"""Render a :class:`~qingshan.reports.model.Document` to Word (.docx) with python-docx.

Official-document layout after GB/T 9704 where it applies: A4, margins top 37 mm / left 28 mm with a 156 × 225 mm
type area (so right 26 mm, bottom 35 mm), body in 仿宋 三号 (16 pt) on a fixed 29 pt line pitch (22 lines),
level-1 headings in 黑体, level-2 in 楷体, the title in 宋体 二号 bold. Tables use 五号 text.

East-Asian text only takes a font from the ``w:eastAsia`` attribute of ``w:rFonts`` (python-docx's ``font.name``
sets ``w:ascii``/``w:hAnsi`` only), so every style and run gets it explicitly, and the theme-font attributes of the
built-in heading styles are removed so they cannot override it. Fonts are referenced by name only: Word and
LibreOffice substitute an installed CJK font when the named one is absent, so nothing has to be installed or
embedded to open the file. The text language is declared zh-CN so that the substitute is a Chinese face.

Figures (:class:`~qingshan.reports.model.Figure`) are drawn server-side by :func:`qingshan.charts.render.to_png`
and inserted as centred inline pictures with the caption below (style Caption).
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from docx import Document as new_docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

from ..charts.highlights import HIGHLIGHT_FILL
from .model import Cell, Document, Figure, Footnote, Paragraph, Provenance, Section, Table

LATIN_FONT = "Times New Roman"
BODY_FONT = "仿宋"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体"
TITLE_FONT = "宋体"
TABLE_FONT = "仿宋"
TABLE_HEADER_FONT = "黑体"

SIZE_TITLE = Pt(22)  # 二号
SIZE_BODY = Pt(16)  # 三号
SIZE_TABLE = Pt(10.5)  # 五号
SIZE_NOTE = Pt(12)  # 小四
LINE_PITCH = Pt(29)  # 225 mm / 22 lines
TYPE_WIDTH_CM = 15.6  # 210 − 28 − 26 mm: a figure is never wider than the type area


def set_east_asian_font(target, east_asian: str, latin: str = LATIN_FONT) -> None:
    """Set the fonts of a style or run: ``w:ascii``/``w:hAnsi`` = ``latin``, ``w:eastAsia`` = ``east_asian``."""
    target.font.name = latin
    rpr = target.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for theme_attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme_attr), None)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:eastAsia"), east_asian)
    rfonts.set(qn("w:hint"), "eastAsia")


def _set_language(doc) -> None:
    """Declare Simplified Chinese for East-Asian text in the document defaults (``w:lang w:eastAsia="zh-CN"``).

    Without it LibreOffice substitutes the named fonts (仿宋, 黑体 …) by language-neutral rules and may pick the
    Japanese variant of a CJK family, with Japanese glyph shapes and centred full-width punctuation.
    """
    rpr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")


def _style(doc, name: str, east_asian: str, size, bold: bool = False) -> None:
    st = doc.styles[name]
    set_east_asian_font(st, east_asian)
    st.font.size = size
    st.font.bold = bold
    st.font.italic = False
    st.font.color.rgb = RGBColor(0, 0, 0)


def _setup(doc) -> None:
    _set_language(doc)
    for s in doc.sections:
        s.page_width, s.page_height = Mm(210), Mm(297)
        s.top_margin, s.bottom_margin = Mm(37), Mm(35)
        s.left_margin, s.right_margin = Mm(28), Mm(26)
    _style(doc, "Normal", BODY_FONT, SIZE_BODY)
    pf = doc.styles["Normal"].paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = LINE_PITCH
    pf.space_before = pf.space_after = Pt(0)
    _style(doc, "Title", TITLE_FONT, SIZE_TITLE, bold=True)
    _style(doc, "Heading 1", HEADING1_FONT, SIZE_BODY)
    _style(doc, "Heading 2", HEADING2_FONT, SIZE_BODY)
    _style(doc, "Caption", HEADING1_FONT, SIZE_NOTE)
    cap = doc.styles["Caption"].paragraph_format
    cap.line_spacing_rule = WD_LINE_SPACING.SINGLE
    cap.space_before, cap.space_after = Pt(2), Pt(8)
    cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for name in ("Title", "Heading 1", "Heading 2"):
        f = doc.styles[name].paragraph_format
        f.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        f.line_spacing = LINE_PITCH if name != "Title" else Pt(36)
        f.space_before, f.space_after = Pt(6), Pt(6)
    # the built-in Title style draws a coloured bottom border: drop it
    ppr = doc.styles["Title"].element.pPr
    if ppr is not None and (bdr := ppr.find(qn("w:pBdr"))) is not None:
        ppr.remove(bdr)


def _run(paragraph, text: str, east_asian: str, size=None, bold: bool | None = None):
    run = paragraph.add_run(text)
    set_east_asian_font(run, east_asian)
    if size is not None:
        run.font.size = size
    if bold is not None:
        run.font.bold = bold
    return run


def shade_cell(cell, fill: str) -> None:
    """Fill a table cell with an RGB hex colour (``w:shd``)."""
    tcpr = cell._tc.get_or_add_tcPr()
    for old in tcpr.findall(qn("w:shd")):
        tcpr.remove(old)
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _cell_text(cell, text: str, font: str, bold: bool) -> None:
    p = cell.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    p.paragraph_format.first_line_indent = Pt(0)
    _run(p, text, font, SIZE_TABLE, bold)


def _table(doc, t: Table) -> None:
    if t.caption:
        cap = doc.add_paragraph()
        cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(cap, t.caption, HEADING1_FONT, SIZE_NOTE, False)
    table = doc.add_table(rows=1 + len(t.rows), cols=len(t.header))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for j, h in enumerate(t.header):
        _cell_text(table.rows[0].cells[j], h, TABLE_HEADER_FONT, True)
    _repeat_header(table.rows[0])
    for i, row in enumerate(t.rows, start=1):
        for j, c in enumerate(row):
            cell = table.rows[i].cells[j]
            _cell_text(cell, c.text, TABLE_FONT, False)
            if c.highlight:
                shade_cell(cell, HIGHLIGHT_FILL[c.highlight])


def _note(doc, text: str) -> None:
    p = doc.add_paragraph()
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    _run(p, text, BODY_FONT, SIZE_NOTE)


def _provenance(doc, pv: Provenance) -> None:
    rows = [("评价规则", "；".join(pv.rulesets))]
    rows += pv.coverage
    rows.append(("数据导入批次", "、".join(str(i) for i in pv.import_ids) if pv.import_ids else "—"))
    rows.append(("生成时间", pv.generated_at.strftime("%Y-%m-%d %H:%M:%S")))
    _table(doc, Table(["项目", "内容"], [[_c(a), _c(b)] for a, b in rows]))
    for n in pv.notes:
        _note(doc, n)


def _figure(doc, f: Figure) -> None:
    """A chart as a centred inline PNG (drawn by vl-convert at 2× for print) with its caption below it.

    The picture's paragraph is single-spaced: the body's exact 29 pt line pitch would clip the picture to one line.
    """
    from ..charts.render import to_png

    png = to_png(f.spec, scale=2.0)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    pf = p.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    pf.first_line_indent = Pt(0)
    pf.keep_with_next = True  # the caption stays on the picture's page
    p.add_run().add_picture(BytesIO(png), width=Cm(min(f.width_cm, TYPE_WIDTH_CM)))
    cap = doc.add_paragraph(style="Caption")
    _run(cap, f.caption, HEADING1_FONT, SIZE_NOTE, False)


def _c(text: str) -> Cell:
    return Cell(text)


def _section(doc, s: Section) -> None:
    doc.add_paragraph(style="Heading 1" if s.level == 1 else "Heading 2").add_run(s.heading)
    last = doc.paragraphs[-1]
    for r in last.runs:
        set_east_asian_font(r, HEADING1_FONT if s.level == 1 else HEADING2_FONT)
    for b in s.blocks:
        if isinstance(b, Paragraph):
            if b.style == "note":
                _note(doc, b.text)
            else:
                p = doc.add_paragraph()
                p.paragraph_format.first_line_indent = Pt(32)  # two characters
                _run(p, b.text, BODY_FONT)
        elif isinstance(b, Table):
            _table(doc, b)
        elif isinstance(b, Footnote):
            _note(doc, f"{b.marker} {b.text}")
        elif isinstance(b, Provenance):
            _provenance(doc, b)
        elif isinstance(b, Figure):
            _figure(doc, b)
        else:  # pragma: no cover - the model is closed
            raise TypeError(f"未知的文档块：{type(b).__name__}")


def render_docx(document: Document, path: str | Path):
    """Write ``document`` to ``path`` (.docx) and return the python-docx document."""
    doc = new_docx()
    _setup(doc)
    doc.core_properties.title = document.title
    doc.core_properties.author = "青山平台"
    title = doc.add_paragraph(style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, document.title, TITLE_FONT)
    if document.subtitle:
        sub = doc.add_paragraph()
        sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(sub, document.subtitle, HEADING2_FONT)
    for s in document.sections:
        _section(doc, s)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return doc
