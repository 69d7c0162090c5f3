"""The public rectification disclosure, built from the demo ledger, reproduces the city's own disclosure.

Oracle: ../shared/seeds/000 (常州市贯彻落实第二轮第二批省生态环境保护督察报告整改落实情况, published mid-2024):
"截至今年5月，我市41项整改任务中，已完成整改12项，其他任务按序时进度推进中；督察组交办的196件信访件，已办结194件，
正在整改2件" — and per item "整改进展：已完成整改" for items 九、十、十一、二十一、二十二、二十四、二十六、二十七、二十八、
三十五、三十九、四十 (the other 29 "按序时要求推进" / "正在序时推进"); items 一 and 十三 have the deadline
"立行立改、长期坚持". The numbers below are typed from that text, not taken from the demo data module.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

docx = pytest.importorskip("docx")

from qingshan.ledger.db import open_ledger
from qingshan.ledger.demo import build_demo_ledger
from qingshan.ledger.rbac import Principal
from qingshan.ledger.service import LedgerService
from qingshan.reports.model import Document, Figure, Paragraph, Table
from qingshan.reports.rectification import (
    RectificationReportError,
    build_rectification,
    cn_number,
    inspections,
    petition_counts,
)

# seed 000 (see the module docstring)
SEED_TASKS, SEED_COMPLETED, SEED_IN_PROGRESS = 41, 12, 29
SEED_PETITIONS, SEED_PETITIONS_CLOSED, SEED_PETITIONS_OPEN = 196, 194, 2
SEED_COMPLETED_ITEMS = [9, 10, 11, 21, 22, 24, 26, 27, 28, 35, 39, 40]
SEED_LONG_TERM_ITEMS = [1, 13]
AS_OF = dt.date(2024, 5, 31)  # "截至今年5月" (2024)
INSPECTION = "第二轮第二批省生态环境保护督察（2023年）"


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    lg = open_ledger(tmp_path_factory.mktemp("rect") / "ws")
    with lg.session() as s:
        build_demo_ledger(s)
    yield lg
    lg.dispose()


def all_text(doc: Document) -> str:
    parts = [doc.title, doc.subtitle or ""]
    for s in doc.sections:
        parts.append(s.heading)
        for b in s.blocks:
            if isinstance(b, Paragraph):
                parts.append(b.text)
            elif isinstance(b, Table):
                parts += [*b.header, *(c.text for r in b.rows for c in r), b.caption or ""]
            elif isinstance(b, Figure):
                parts.append(b.caption)
    return "\n".join(parts)


def table(doc: Document, caption_prefix: str) -> Table:
    return next(b for s in doc.sections for b in s.blocks
                if isinstance(b, Table) and (b.caption or "").startswith(caption_prefix))


def test_counts_reproduce_seed_000(ledger):
    with ledger.session() as s:
        doc = build_rectification(s, None, AS_OF)
    text = all_text(doc)
    assert doc.title == f"{INSPECTION}整改落实情况" and doc.subtitle == "（截至2024年5月31日）"
    assert (f"反馈问题整改任务共{SEED_TASKS}项，已完成整改{SEED_COMPLETED}项，"
            f"其余{SEED_IN_PROGRESS}项按序时推进。") in text
    assert (f"督察组交办信访件{SEED_PETITIONS}件，已办结{SEED_PETITIONS_CLOSED}件，"
            f"正在办理{SEED_PETITIONS_OPEN}件。") in text
    overview = table(doc, "表1")
    assert [[c.text for c in r] for r in overview.rows] == [
        ["整改任务", str(SEED_TASKS), str(SEED_COMPLETED), str(SEED_IN_PROGRESS)],
        ["督察组交办信访件", str(SEED_PETITIONS), str(SEED_PETITIONS_CLOSED), str(SEED_PETITIONS_OPEN)]]
    listing = table(doc, "表2")
    assert [int(r[0].text) for r in listing.rows] == list(range(1, SEED_TASKS + 1))
    done = [int(r[0].text) for r in listing.rows if r[3].text == "已完成整改"]
    assert done == SEED_COMPLETED_ITEMS
    assert all(r[3].text == "按序时推进" for r in listing.rows if int(r[0].text) not in SEED_COMPLETED_ITEMS)
    long_term = [int(r[0].text) for r in listing.rows if r[2].text == "立行立改、长期坚持"]
    assert long_term == SEED_LONG_TERM_ITEMS
    fig = next(b for s in doc.sections for b in s.blocks if isinstance(b, Figure))
    assert [(v["name"], v["count"]) for v in fig.spec["data"]["values"]] == [
        ("已完成整改", SEED_COMPLETED), ("按序时推进", SEED_IN_PROGRESS)]


def test_items_in_seed_structure(ledger):
    with ledger.session() as s:
        doc = build_rectification(s, "第二轮第二批", AS_OF)
    heads = [x.heading for x in doc.sections]
    assert heads[:3] == ["一、总体情况", "二、整改任务清单", "三、各项整改任务进展"]
    assert heads[-1].startswith("附录")
    item9 = next(x for x in doc.sections if x.heading.startswith("（九）"))
    assert item9.level == 2
    texts = [b.text for b in item9.blocks]
    assert texts[1] == "整改时限：2023年12月底前。" and texts[2] == "完成情况：已完成整改。"
    assert texts[0].startswith("存在问题：") and texts[3].startswith("整改进展：")
    assert cn_number(41) == "四十一" and cn_number(10) == "十" and cn_number(13) == "十三"
    prov = doc.sections[-1].blocks[0]
    cov = dict(prov.coverage)
    assert cov["督察批次"] == INSPECTION and cov["截止日期"] == "2024-05-31"
    assert "不晚于2023-07-31" in cov["交办信访件"]  # the inspection's feedback date bounds its petitions
    assert re.search(r"治理台账（数据库结构版本 \w+）", prov.rulesets[0])


def test_as_of_counts_later_acceptance_as_in_progress(ledger):
    # the demo accepted the 12 completed tasks on 2024-05-31: the day before, none was complete yet,
    # and the tasks due by the end of 2023 were overdue
    with ledger.session() as s:
        doc = build_rectification(s, None, dt.date(2024, 5, 30))
        # during the inspection (31 March – 29 April 2023) petitions were still arriving and few were closed;
        # before the feedback date (2023-07-31) no task had been issued, so there is no disclosure to build
        early = petition_counts(s, INSPECTION, dt.date(2023, 4, 10))
        with pytest.raises(RectificationReportError, match="没有已下达"):
            build_rectification(s, None, dt.date(2023, 4, 10))
    assert [c.text for c in table(doc, "表1").rows[0]] == ["整改任务", "41", "0", "41"]
    assert "已超过整改时限尚未完成整改的任务12项" in all_text(doc)
    assert 0 < early.received < SEED_PETITIONS and early.closed < early.received
    assert early.open == early.received - early.closed - early.rejected


def test_only_disclosed_content_appears(ledger):
    secret_problem, secret_text = "未公开问题甲乙丙（测试）", "内部进展丁戊己（测试）"
    s = ledger.sessionmaker()
    try:
        svc = LedgerService(s, Principal.system())
        svc.create_rectification(seq=42, source_inspection=INSPECTION, problem=secret_problem, title="未公开任务（测试）",
                                 deadline="2024-12-31", start_date="2023-07-31", disclosed=False,
                                 disclosure_text=secret_text, measures="内部措施庚辛（测试）")
        # a petition handed over long after this inspection's feedback belongs to no earlier inspection
        svc.create_petition(channel="inspection_handover", received_on="2024-03-01", content="后续交办（测试）")
        s.flush()
        doc = build_rectification(s, INSPECTION, AS_OF)
        # the internal measures of a disclosed demo task are not public either
        measures = s.execute(text("SELECT measures FROM rectification_items WHERE seq = 1")).scalar()
    finally:
        s.rollback()
        s.close()
    shown = all_text(doc)
    assert measures and len(measures) > 20
    for hidden in (secret_problem, secret_text, "未公开任务（测试）", "内部措施庚辛（测试）", measures):
        assert hidden not in shown
    assert [c.text for c in table(doc, "表1").rows[0]][:2] == ["整改任务", "41"]
    assert [c.text for c in table(doc, "表1").rows[1]][:2] == ["督察组交办信访件", "196"]


def test_inspection_errors_list_the_available_ones(ledger):
    s = ledger.sessionmaker()
    try:
        LedgerService(s, Principal.system()).create_rectification(
            seq=1, source_inspection="中央生态环境保护督察（2024年，测试）", problem="测试问题", start_date="2024-06-30",
            deadline="2024-12-31",
            disclosed=True, disclosure_text="测试")
        s.flush()
        assert inspections(s) == [INSPECTION, "中央生态环境保护督察（2024年，测试）"]
        with pytest.raises(RectificationReportError, match="多个督察批次.*第二轮第二批"):
            build_rectification(s, None, AS_OF)
        with pytest.raises(RectificationReportError, match="没有找到督察批次“第三轮”.*可选督察批次"):
            build_rectification(s, "第三轮", AS_OF)
        with pytest.raises(RectificationReportError, match="匹配到多个"):
            build_rectification(s, "督察", AS_OF)
        # issued after the as-of date: nothing to disclose yet for the second inspection
        with pytest.raises(RectificationReportError, match="没有已下达"):
            build_rectification(s, "中央", AS_OF)
    finally:
        s.rollback()
        s.close()


def test_cli_writes_docx_and_pdf(ledger, tmp_path, monkeypatch):
    from qingshan.cli.reports import report_app

    monkeypatch.setenv("QINGSHAN_WORKSPACE", str(ledger.workspace))
    app = typer.Typer()
    app.add_typer(report_app, name="report")
    runner = CliRunner()
    listed = runner.invoke(app, ["report", "rectification", "--list"])
    assert listed.exit_code == 0 and INSPECTION in listed.output
    out = tmp_path / "公开" / "整改落实情况.docx"
    res = runner.invoke(app, ["report", "rectification", "--inspection", "第二轮第二批", "--as-of", "2024-05-31",
                              "-o", str(out), "--units"])
    assert res.exit_code == 0, res.output
    word, pdf = out, out.with_suffix(".pdf")
    assert word.is_file() and pdf.is_file()
    d = docx.Document(str(word))
    assert d.paragraphs[0].text == f"{INSPECTION}整改落实情况"
    assert len(d.inline_shapes) == 1
    assert "责任单位" in [c.text for c in d.tables[1].rows[0].cells]
    flat = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                             check=True).stdout)
    assert "督察组交办信访件196件，已办结194件，正在办理2件。" in flat
    assert "反馈问题整改任务共41项，已完成整改12项" in flat
    bad = runner.invoke(app, ["report", "rectification", "--inspection", "第三轮", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and not (tmp_path / "x.docx").exists()
    assert "可选督察批次" in bad.output
