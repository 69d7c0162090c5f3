"""PDF (Typst), HTML and Word output of the report model, checked with the tools a reader's machine has:
poppler's pdftotext / pdffonts / pdftoppm read the PDF back, python-docx the .docx, and LibreOffice converts the
.docx to PDF once to prove that the Word file really renders Chinese text."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import typer

docx = pytest.importorskip("docx")
from docx.oxml.ns import qn
from docx.shared import Cm

from qingshan.charts import specs as S
from qingshan.charts.fonts import cjk_font_dir, serif_family
from qingshan.reports.convert import ConversionError, docx_to_pdf, pdf_page_png, soffice_path
from qingshan.reports.docx_render import render_docx
from qingshan.reports.model import Cell, Document, Figure, Footnote, Paragraph, Provenance, Section, Table
from qingshan.reports.output import output_stem, parse_formats, write_report
from qingshan.reports.pdf_render import (
    drop_default_suspects,
    render_html,
    render_pdf,
    to_typst,
    typst_string,
)

POPPLER = shutil.which("pdftotext") and shutil.which("pdffonts") and shutil.which("pdftoppm")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext/pdffonts/pdftoppm) not installed")

TITLE = "青山市2024年5月环境空气质量报告"
# every Typst markup character: # $ * _ ` < > @ [ ] \ // = - + ~ and a quote
NASTY = '符号#$*_`<>@[]\\//=-+~"引号"'


def sample_document(long_table_rows: int = 45) -> Document:
    long_rows = [[Cell(str(i)), Cell(f"点位{i:02d}"), Cell(f"{20 + i}")] for i in range(1, long_table_rows + 1)]
    return Document(TITLE, subtitle="（统计时段：2024-05-01至2024-05-31）", sections=[
        Section("一、全市空气质量概况", [
            Paragraph("2024年5月，全市细颗粒物（PM2.5）平均浓度为31微克/立方米，同比下降6.1%。"),
            Paragraph(NASTY),
            Table(["排名", "区", "本月（微克/立方米）", "同比"],
                  [[Cell("1"), Cell("西区"), Cell("26"), Cell("-4.0%")],
                   [Cell("2"), Cell("东区①"), Cell("52", "yellow"), Cell("+30.0%", "red")]],
                  caption="表1 各区细颗粒物浓度排名"),
            Footnote("①", "东区：本月有效日均值28个。"),
            Figure(S.aqi_category_days({"优": 12, "良": 15, "轻度污染": 4}, "空气质量类别天数"),
                   "图1 空气质量类别天数", width_cm=12),
        ]),
        Section("（一）各点位浓度", [Table(["序号", "点位", "浓度"], long_rows, caption="表2 各点位浓度")], level=2),
        Section("附录 数据来源", [Provenance(["gb3095-2012", "hj633-2012"], [("本月数据覆盖", "应监测31天，有效31天")],
                                           [7, 9], datetime(2024, 6, 2, 8, 30, 0), ["注：测试说明。"])]),
    ])


def pdftotext(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdffonts(pdf: Path) -> list[tuple[str, str]]:
    """(font name, embedded yes/no) rows of pdffonts."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
    rows = []
    for line in out[2:]:
        parts = line.split()
        emb = next(p for p in parts if p in ("yes", "no"))
        rows.append((parts[0], emb))
    return rows


def page_pixels(pdf: Path, page: int, tmp_path: Path) -> np.ndarray:
    from PIL import Image

    png = pdf_page_png(pdf, page, tmp_path / f"page-{page}.png", dpi=60)
    return np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3)


# --- Typst source -----------------------------------------------------------------------------------------------


def test_typst_string_escapes_only_what_strings_need():
    assert typst_string('a"b\\c') == '"a\\"b\\\\c"'
    assert typst_string("x\ny\tz\r") == '"x\\ny\\tz"'
    assert typst_string("#$*_`<>@[]//") == '"#$*_`<>@[]//"'  # inert inside a string literal
    assert typst_string("\x01") == '"\\u{1}"'


def test_typst_source_has_layout_and_no_raw_text():
    source, figures = to_typst(sample_document(), sans="Noto Sans CJK SC", serif="Noto Serif CJK SC")
    assert 'margin: (top: 37mm, bottom: 35mm, left: 28mm, right: 26mm)' in source
    assert 'paper: "a4"' in source
    assert "table.header(repeat: true" in source
    assert 'fill: rgb("#FFFF00")' in source and 'fill: rgb("#FF0000")' in source
    assert list(figures) == ["figure-1.svg"] and 'image("figure-1.svg", width: 12cm)' in source
    assert typst_string(NASTY) in source  # user text only ever appears as a string literal
    assert source.count(NASTY.replace("\\", "\\\\").replace('"', '\\"')) == 1


# --- PDF --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    return render_pdf(sample_document(), tmp_path_factory.mktemp("pdf") / "sub" / "report.pdf")


def test_poppler_reads_the_pdf_without_warnings(pdf):
    """Typst marks the PDF ``/Suspects false``, which poppler 22 reports as "Suspects object is wrong type" on every
    read; the renderer blanks that default entry out and the PDF stays tagged."""
    if not shutil.which("pdftotext") or not shutil.which("pdfinfo"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI 环境缺少 poppler-utils（pdftotext/pdfinfo）")
        pytest.skip("未安装 poppler-utils（pdftotext/pdfinfo），无法检查 PDF 读取警告")
    for command in (["pdftotext", str(pdf), "-"], ["pdfinfo", str(pdf)]):
        run = subprocess.run(command, capture_output=True, text=True, check=True)
        assert run.stderr == "", f"{command[0]}: {run.stderr}"
    assert b"/Marked true" in pdf.read_bytes()


def test_dropping_suspects_keeps_every_offset():
    body = b"%PDF-1.7\n1 0 obj\n<</Type/Catalog/MarkInfo<</Marked true/Suspects false>>/Lang(zh)>>\nendobj\nxref"
    out = drop_default_suspects(body)
    assert len(out) == len(body) and out.index(b"xref") == body.index(b"xref")
    assert b"Suspects" not in out and b"/MarkInfo<</Marked true" in out
    assert drop_default_suspects(b"%PDF no mark info /Suspects false") == b"%PDF no mark info /Suspects false"


@needs_poppler
def test_pdf_text_title_tables_and_escaped_symbols(pdf):
    text = pdftotext(pdf)
    flat = squeeze(text)
    assert TITLE in flat and "一、全市空气质量概况" in flat
    assert "同比下降6.1%" in flat
    assert "表1各区细颗粒物浓度排名" in flat
    for cell in ("东区①", "52", "+30.0%", "-4.0%"):
        assert cell in flat
    assert squeeze(NASTY) in flat
    assert "①东区：本月有效日均值28个。" in flat
    assert "图1空气质量类别天数" in flat
    assert "gb3095-2012；hj633-2012" in flat and "2024-06-0208:30:00" in flat and "7、9" in flat


@needs_poppler
def test_pdf_repeats_table_header_on_the_next_page(pdf):
    n_pages = len(re.findall(r"\f", pdftotext(pdf))) or 1
    assert n_pages >= 3
    pages_with_rows = [p for p in range(1, n_pages + 1) if "点位45" in squeeze(pdftotext(pdf, p))
                       or "点位01" in squeeze(pdftotext(pdf, p))]
    first, last = pages_with_rows[0], pages_with_rows[-1]
    assert last > first  # the 45-row table breaks across pages ...
    assert "序号点位浓度" in squeeze(pdftotext(pdf, last))  # ... and its header is repeated


@needs_poppler
def test_pdf_embeds_cjk_fonts(pdf):
    fonts = pdffonts(pdf)
    cjk = [name for name, emb in fonts if "CJK" in name and emb == "yes"]
    assert any("NotoSansCJK" in n for n in cjk), fonts  # title, headings, table header
    if serif_family(cjk_font_dir()) == "Noto Serif CJK SC":  # body text, when the serif is installed
        assert any("NotoSerifCJK" in n for n in cjk), fonts


@needs_poppler
def test_pdf_page_rasterises_with_content_and_fills(pdf, tmp_path):
    px = page_pixels(pdf, 1, tmp_path)
    non_white = int((px.sum(axis=1) < 720).sum())
    assert non_white > 2000
    colours = set(map(tuple, np.unique(px, axis=0).tolist()))
    assert (255, 255, 0) in colours and (255, 0, 0) in colours  # highlight fills (and the 良 bar)
    assert (0, 228, 0) in colours  # the 优 bar of the figure, in HJ 633 green


# --- HTML and the output helper ---------------------------------------------------------------------------------


def test_html_is_self_contained_and_escaped():
    page = render_html(sample_document(3))
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "<svg" in page and "空气质量类别天数" in page
    assert "符号#$*_`&lt;&gt;@[]\\//=-+~&quot;引号&quot;" in page
    assert 'style="background:#FFFF00"' in page and "<th>排名</th>" in page


def test_write_report_formats_and_suffixes(tmp_path):
    assert parse_formats("DOCX, pdf,docx") == ("docx", "pdf")
    with pytest.raises(ValueError, match="不支持的输出格式"):
        parse_formats("odt")
    assert output_stem(Path("月报.docx")) == Path("月报") and output_stem(Path("2024.05")) == Path("2024.05")
    doc = sample_document(3)
    paths = write_report(doc, tmp_path / "a" / "b" / "月报.pdf", ("docx", "pdf", "html"))
    assert [p.name for p in paths] == ["月报.docx", "月报.pdf", "月报.html"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    only = write_report(doc, tmp_path / "x", ["docx"])
    assert only == [tmp_path / "x.docx"] and not (tmp_path / "x.pdf").exists()


# --- Word -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def word(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("docx") / "report.docx"
    render_docx(sample_document(6), path)
    return path


def test_docx_figure_is_an_inline_picture_with_caption(word):
    d = docx.Document(str(word))
    shapes = d.inline_shapes
    assert len(shapes) == 1
    assert abs(shapes[0].width - Cm(12)) < Cm(0.01)
    # the picture's paragraph is centred and followed by the caption in the Caption style
    paras = d.paragraphs
    i = next(k for k, p in enumerate(paras) if p._p.xpath(".//pic:pic"))
    assert paras[i].alignment == 1  # CENTER
    cap = paras[i + 1]
    assert cap.text == "图1 空气质量类别天数" and cap.style.name == "Caption"
    assert cap.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    blob = shapes[0]._inline.graphic.graphicData.pic.blipFill.blip.embed
    image = d.part.related_parts[blob].blob
    assert image[:8] == b"\x89PNG\r\n\x1a\n"


@needs_poppler
@pytest.mark.skipif(soffice_path() is None,
                    reason="LibreOffice (soffice) not installed: apt-get install libreoffice-writer-nogui")
def test_libreoffice_renders_the_docx_with_cjk_fonts(word, tmp_path):
    out = docx_to_pdf(word, tmp_path / "lo")
    flat = squeeze(pdftotext(out))
    assert TITLE in flat and "表1各区细颗粒物浓度排名" in flat and "图1空气质量类别天数" in flat
    fonts = [name for name, emb in pdffonts(out) if emb == "yes"]
    assert any("CJK" in n or "Noto" in n and "SC" in n for n in fonts), fonts
    px = page_pixels(out, 1, tmp_path)
    assert (255, 255, 0) in set(map(tuple, np.unique(px, axis=0).tolist()))  # the yellow cell survived


def test_conversion_errors_are_clear(tmp_path, monkeypatch):
    from qingshan.reports import convert

    monkeypatch.setattr(convert, "soffice_path", lambda: None)
    with pytest.raises(ConversionError, match="libreoffice-writer-nogui"):
        convert.docx_to_pdf(tmp_path / "x.docx", tmp_path)
    with pytest.raises(ValueError, match=".png"):
        pdf_page_png(tmp_path / "x.pdf", 1, tmp_path / "x.jpg")


@needs_poppler
def test_cli_monthly_writes_docx_and_pdf(ws, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from qingshan.cli.reports import report_app

    from .test_report_monthly import CITY, build_store

    build_store(ws)
    ws.close()
    monkeypatch.setenv("QINGSHAN_WORKSPACE", str(ws.path))
    app = typer.Typer()
    app.add_typer(report_app, name="report")
    out = tmp_path / "out" / "月报"
    res = CliRunner().invoke(app, ["report", "monthly", "--city", CITY, "--month", "2023-05", "-o", str(out)])
    assert res.exit_code == 0, res.output
    word, pdf = out.with_suffix(".docx"), out.with_suffix(".pdf")
    assert docx.Document(str(word)).paragraphs[0].text == "青城2023年5月环境空气质量排名通报"
    assert "青城2023年5月环境空气质量排名通报" in squeeze(pdftotext(pdf))
    bad = CliRunner().invoke(app, ["report", "monthly", "--city", CITY, "--month", "2023-05", "-o", str(out),
                                   "--format", "odt"])
    assert bad.exit_code == 2 and "不支持的输出格式" in bad.output
