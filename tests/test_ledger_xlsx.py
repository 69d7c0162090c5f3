"""XLSX in and out in the bureau's layout: round trip, re-import without duplicates, conflicts, permissions."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from qingshan.ledger.models import AuditEntry, ProgressEntry, RectificationItem
from qingshan.ledger.xlsx import (
    COLUMNS,
    PUBLIC_COLUMNS,
    XlsxError,
    export_workbook,
    format_deadline,
    import_xlsx,
    parse_deadline,
)

from .ledger_fixtures import (  # noqa: F401
    fast_password_hashing,
    ledger,
    ledger_url,
    org,
    principal_of,
    service,
    workspace,
)

D = dt.date


@pytest.mark.parametrize(("text", "expected"), [
    ("2025年12月底前", ("date", D(2025, 12, 31))),
    ("2024年6月底前", ("date", D(2024, 6, 30))),
    ("2024年2月底前", ("date", D(2024, 2, 29))),
    ("2024年6月15日前", ("date", D(2024, 6, 15))),
    ("2024年底前", ("date", D(2024, 12, 31))),
    ("2024-06-30", ("date", D(2024, 6, 30))),
    (dt.datetime(2024, 6, 30), ("date", D(2024, 6, 30))),
    ("立行立改", ("immediate", None)),
    ("长期坚持", ("long_term", None)),
    ("立行立改、长期坚持", ("immediate_long_term", None)),
    ("立行立改，长期坚持", ("immediate_long_term", None)),
])
def test_parse_deadline(text, expected):
    assert parse_deadline(text) == expected


def test_deadline_text_round_trips():
    for kind, d in [("date", D(2025, 12, 31)), ("date", D(2024, 6, 15)), ("immediate_long_term", None),
                    ("long_term", None), ("immediate", None)]:
        assert parse_deadline(format_deadline(kind, d)) == (kind, d)
    with pytest.raises(ValueError):
        parse_deadline("尽快")


def _sheet_rows(wb, sheet="整改任务"):
    ws = wb[sheet]
    header = [c.value for c in ws[2]]
    return header, [dict(zip(header, [c.value for c in row])) for row in ws.iter_rows(min_row=3)]


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _count(s, model=RectificationItem):
    return s.execute(select(func.count()).select_from(model)).scalar()


def test_export_layout_and_round_trip_is_a_no_op(ledger, org):
    with ledger.session() as s:
        svc = service(s)
        svc.add_progress(org.a, "已检查工地12个")
        wb = export_workbook(svc)
        header, rows = _sheet_rows(wb)
        assert header == COLUMNS
        assert header[:9] == ["序号", "督察来源", "问题", "整改时限", "责任单位", "配合单位", "整改措施", "整改进展", "完成情况"]
        a = next(r for r in rows if r["序号"] == 1)
        assert a["责任单位"] == "市住建局、湟里镇" and a["配合单位"] == "市水利局"
        assert a["整改时限"] == "2024年12月底前" and a["完成情况"] == "按序时推进" and a["整改进展"] == "已检查工地12个"
        n_items, n_progress = _count(s), _count(s, ProgressEntry)
        report = import_xlsx(svc, _save(wb))
        assert (report.rows, report.created, report.updated, report.unchanged) == (2, 0, 0, 2)
        assert not report.errors and not report.conflicts and not report.rejected
        assert (_count(s), _count(s, ProgressEntry)) == (n_items, n_progress)


def test_reimport_of_an_edited_sheet_updates_and_never_duplicates(ledger, org):
    with ledger.session() as s:
        svc = service(s)
        wb = export_workbook(svc)
        ws = wb["整改任务"]
        header = [c.value for c in ws[2]]
        col = {name: i + 1 for i, name in enumerate(header)}
        for r in range(3, ws.max_row + 1):
            if ws.cell(r, col["序号"]).value == 1:
                ws.cell(r, col["整改措施"]).value = "每日巡查，按季度通报"
                ws.cell(r, col["整改进展"]).value = "5月完成全部工地复查"
                ws.cell(r, col["整改时限"]).value = "2025年6月底前"
        ws.append([3, "测试督察", "新增问题：餐饮油烟", "立行立改", "市住建局", "", "安装净化装置", "已排查", "按序时推进",
                   "否", "", "", ""])
        data = _save(wb)
        n_items = _count(s)
        report = import_xlsx(svc, data)
        assert (report.created, report.updated, report.unchanged) == (1, 1, 1), report.as_dict()
        assert report.progress_added == 2
        assert _count(s) == n_items + 1
        a = svc.get(org.a)
        assert a.measures == "每日巡查，按季度通报" and a.deadline == D(2025, 6, 30)
        assert a.progress[-1].text == "5月完成全部工地复查"
        # the same edited sheet again: nothing new (the new row is matched by 督察来源 + 序号)
        again = import_xlsx(svc, data)
        assert (again.created, again.updated, again.unchanged) == (0, 0, 3), again.as_dict()
        assert _count(s) == n_items + 1 and len(svc.get(org.a).progress) == 1


def test_conflicts_are_reported_and_one_sided_changes_merged(ledger, org):
    with ledger.session() as s:
        svc = service(s)
        exported = export_workbook(svc)  # version V of item A
        # meanwhile, in the ledger: 市住建局 changes the measures and reports progress
        zj = service(s, principal_of(s, "zj"))
        zj.update_record(org.a, {"measures": "台账里改过的措施"})
        zj.add_progress(org.a, "台账里新报的进展")
        # in the sheet: someone changes the measures, the progress, and the problem (which nobody touched)
        ws = exported["整改任务"]
        header = [c.value for c in ws[2]]
        col = {name: i + 1 for i, name in enumerate(header)}
        for r in range(3, ws.max_row + 1):
            if ws.cell(r, col["序号"]).value == 1:
                ws.cell(r, col["整改措施"]).value = "表格里改的措施"
                ws.cell(r, col["整改进展"]).value = "表格里写的进展"
                ws.cell(r, col["问题"]).value = "工地扬尘监管不到位（表格补充说明）"
        report = import_xlsx(svc, _save(exported))
        conflicts = {c.column: c for c in report.conflicts}
        assert set(conflicts) == {"整改措施", "整改进展"}
        assert conflicts["整改措施"].sheet_value == "表格里改的措施"
        assert conflicts["整改措施"].ledger_value == "台账里改过的措施"
        a = svc.get(org.a)
        assert a.measures == "台账里改过的措施"  # not overwritten
        assert a.progress[-1].text == "台账里新报的进展"
        assert a.problem == "工地扬尘监管不到位（表格补充说明）"  # merged: changed on one side only
        assert report.updated == 1


def test_status_in_the_sheet_is_not_a_shortcut_around_the_workflow(ledger, org):
    with ledger.session() as s:
        svc = service(s)
        wb = export_workbook(svc)
        ws = wb["整改任务"]
        header = [c.value for c in ws[2]]
        for r in range(3, ws.max_row + 1):
            if ws.cell(r, header.index("序号") + 1).value == 1:
                ws.cell(r, header.index("完成情况") + 1).value = "已完成整改"
        report = import_xlsx(svc, _save(wb))
        assert svc.get(org.a).status == "in_progress"
        assert len(report.rejected) == 1 and "流转" in report.rejected[0].message


def test_department_import_changes_only_its_own_rows(ledger, org):
    with ledger.session() as s:
        wb = export_workbook(service(s))
        ws = wb["整改任务"]
        header = [c.value for c in ws[2]]
        for r in range(3, ws.max_row + 1):
            ws.cell(r, header.index("整改措施") + 1).value = f"{ws.cell(r, 1).value}号：部门改写"
        zj = service(s, principal_of(s, "zj"))
        report = import_xlsx(zj, _save(wb))
        assert report.updated == 1 and len(report.rejected) == 1 and report.rejected[0].row == 4
        assert zj.get(org.a).measures == "1号：部门改写"
        assert zj.get(org.b).measures is None


def test_public_disclosure_table(ledger, org):
    with ledger.session() as s:
        wb = export_workbook(service(s, principal_of(s, "public")), public=True)
        header, rows = _sheet_rows(wb)
        assert header == PUBLIC_COLUMNS
        assert [r["序号"] for r in rows] == [2]  # only the disclosed item
        assert rows[0]["整改进展"] == "按序时推进" and rows[0]["责任单位"] == "市水利局"
        # even a bureau user's public export holds only disclosed items and public columns
        wb = export_workbook(service(s, principal_of(s, "bureau")), public=True)
        assert [r["序号"] for r in _sheet_rows(wb)[1]] == [2]
        assert "整改措施" not in _sheet_rows(wb)[0]


def test_bureau_sheet_with_its_own_headers_and_bad_rows(ledger, org):
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["2023年省督察反馈问题整改台账"])
    ws.append(["编号", "存在问题", "完成时限", "牵头单位", "配合部门", "措施", "进展情况", "整改状态"])
    ws.append([1, "河道排口未封堵", "2024年6月底前", "市水利局", "新北区", "封堵排口", "已封堵3个", "按序时要求推进"])
    ws.append([2, "", "2024年6月底前", "市水利局", "", "", "", "按序时推进"])  # no problem text
    ws.append([3, "油烟扰民", "尽快", "市住建局", "", "", "", "按序时推进"])  # bad deadline
    ws.append([4, "养殖尾水", "2023年12月底前", "市农委", "", "", "", "已完成整改"])  # unknown unit
    ws.append([5, "扬尘", "立行立改、长期坚持", "市住建局", "", "", "", "已完成整改"])
    ws.append([None, None, None, None, None, None, None, None])
    with ledger.session() as s:
        svc = service(s)
        report = import_xlsx(svc, _save(wb), default_source="2023年省督察")
        assert report.sheet == "Sheet1" and report.rows == 5
        assert report.created == 2
        assert sorted((e.row, e.column) for e in report.errors) == [(4, "问题"), (5, "整改时限"), (6, "")]
        assert "未知单位" in [e.message for e in report.errors if e.row == 6][0]
        items = {r.seq: r for r in svc.list_records(kind="rectification", q="").items
                 if isinstance(r, RectificationItem) and r.source_inspection == "2023年省督察"}
        assert items[1].deadline == D(2024, 6, 30) and items[1].unit_names("cooperating") == ["新北区"]
        assert items[5].status == "completed" and items[5].deadline_kind == "immediate_long_term"
        with pytest.raises(XlsxError):
            import_xlsx(svc, b"not a workbook")


def test_rows_without_source_need_one(ledger, org):
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "问题", "整改时限"])
    ws.append([1, "问题", "2024年6月底前"])
    with ledger.session() as s:
        report = import_xlsx(service(s), _save(wb))
        assert report.created == 0 and report.errors[0].column == "督察来源"


def test_export_reads_back_with_openpyxl(ledger, org, tmp_path):
    from qingshan.ledger.xlsx import export_xlsx

    with ledger.session() as s:
        path = tmp_path / "out" / "台账.xlsx"
        assert export_xlsx(service(s), path) == 2
        svc = service(s)
        svc.record_indicator_value(org.indicator, 4)
        export_xlsx(svc, path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["整改任务", "重点任务"]
    header, rows = _sheet_rows(wb, "重点任务")
    assert "消劣支浜：目标≥10条，完成4条" in [r["量化指标"] for r in rows]


# --- 牵头单位 and 分工完成情况 (issue 15) ---------------------------------------------------------------------------


def _edit(wb, seq: int, **cells) -> bytes:
    """Set cells (by column name) of the rectification row with 序号 ``seq``; the workbook's bytes."""
    ws = wb["整改任务"]
    header = [c.value for c in ws[2]]
    for r in range(3, ws.max_row + 1):
        if ws.cell(r, 1).value == seq:
            for name, value in cells.items():
                ws.cell(r, header.index(name) + 1).value = value
    return _save(wb)


def _leads(svc, record_id: int) -> list[str]:
    return [ru.unit.name for ru in svc.get(record_id).units if ru.lead]


def test_export_shows_the_lead_and_each_units_part(ledger, org):
    """Item a: 市住建局 leads, 湟里镇 (responsible) and 市水利局 (cooperating) reported their parts on 2024-05-31; a
    shared key task with its lead. The parts column is export-only (said in the caption); notes stay out."""
    with ledger.session() as s:
        svc = service(s)
        task = svc.create_key_task(seq=9, plan="测试方案", year=2024, title="河道整治", responsible=["市水利局", "市住建局"],
                                   cooperating=["市交通运输局"], lead=["市水利局"])
        svc.report_part(task.id, "交通部分完成", unit="市交通运输局", on="2024-05-20")
        wb = export_workbook(svc)
        header, rows = _sheet_rows(wb)
        assert header[11:13] == ["牵头单位", "分工完成情况"]
        a, b = (next(r for r in rows if r["序号"] == n) for n in (1, 2))
        assert a["牵头单位"] == "市住建局"
        assert a["分工完成情况"] == "市住建局：未报送；湟里镇：已报送 2024-05-31；市水利局：已报送 2024-05-31"
        assert (b["牵头单位"], b["分工完成情况"]) == ("市水利局", "")  # one unit: its own lead, no parts
        assert "“分工完成情况”列仅供查看，导入时不读取" in wb["整改任务"].cell(1, 1).value
        assert "配合完成河道沿线工地巡查" not in str(rows)  # the units' notes are not exported
        _, tasks = _sheet_rows(wb, "重点任务")
        t = next(r for r in tasks if r["任务"] == "河道整治")
        assert (t["责任单位"], t["牵头单位"], t["配合单位"]) == ("市水利局、市住建局", "市水利局", "市交通运输局")
        assert t["分工完成情况"] == "市水利局：未报送；市住建局：未报送；市交通运输局：已报送 2024-05-20"
        # the public disclosure table keeps its columns: no lead, no parts
        header, rows = _sheet_rows(export_workbook(service(s, principal_of(s, "public")), public=True))
        assert header == PUBLIC_COLUMNS and "已报送" not in str(rows)


def test_reimporting_an_exported_workbook_with_leads_and_parts_changes_nothing(ledger, org):
    with ledger.session() as s:
        svc = service(s, principal_of(s, "bureau"))
        svc.create_rectification(seq=3, source_inspection="测试督察", problem="共同整改", deadline="2024-12-31",
                                 responsible=["市住建局", "市水利局"])  # co-responsible: no lead
        s.flush()
        wb = export_workbook(svc)
        header, rows = _sheet_rows(wb)  # the round trip carries the new columns, filled
        assert header[11:13] == ["牵头单位", "分工完成情况"]
        assert {r["序号"]: (r["牵头单位"], r["分工完成情况"].split("；")[0]) for r in rows} == {
            1: ("市住建局", "市住建局：未报送"), 2: ("市水利局", ""), 3: ("", "市住建局：未报送")}
        n_audit = s.execute(select(func.count()).select_from(AuditEntry)).scalar()
        for who in ("bureau", "zj"):
            report = import_xlsx(service(s, principal_of(s, who)), _save(wb))
            assert (report.created, report.updated, report.unchanged) == (0, 0, report.rows) and report.rows == 3
            assert not report.errors and not report.conflicts and not report.rejected, report.as_dict()
        assert s.execute(select(func.count()).select_from(AuditEntry)).scalar() == n_audit


def test_lead_column_sets_the_lead_for_the_bureau_only(ledger, org):
    with ledger.session() as s:
        bureau = service(s, principal_of(s, "bureau"))
        wb = export_workbook(bureau)
        # an edited parts column is not read; a lead outside the responsible units is a row error on its column
        report = import_xlsx(bureau, _edit(wb, 1, 牵头单位="市水利局", 分工完成情况="市住建局：已报送 2024-05-01"))
        assert [(e.column, e.message) for e in report.errors] == [
            ("牵头单位", "牵头单位须是责任单位之一：市水利局 不在本行的责任单位（市住建局、湟里镇）中")]
        assert _leads(bureau, org.a) == ["市住建局"]
        # a department may not change it (rejected, nothing changes)
        report = import_xlsx(service(s, principal_of(s, "zj")), _edit(export_workbook(bureau), 1, 牵头单位="湟里镇"))
        assert [e.row for e in report.rejected] == [3] and "lead" in report.rejected[0].message
        assert _leads(bureau, org.a) == ["市住建局"]
        # the bureau: applied and audited
        report = import_xlsx(bureau, _edit(export_workbook(bureau), 1, 牵头单位="湟里镇"))
        assert report.updated == 1 and not report.errors and _leads(bureau, org.a) == ["湟里镇"]
        entry = s.execute(select(AuditEntry).where(AuditEntry.record_id == org.a, AuditEntry.action == "record.update")
                          .order_by(AuditEntry.id.desc())).scalars().first()
        assert (entry.before, entry.after, entry.actor_name) == ({"lead": ["市住建局"]}, {"lead": ["湟里镇"]}, "bureau")


def test_a_bureau_sheet_with_both_unit_columns_creates_items_with_their_lead(ledger, org):
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "问题", "完成时限", "牵头单位", "责任单位", "整改状态"])
    ws.append([1, "河道排口未封堵", "2024年6月底前", "市水利局", "市水利局、市住建局", "按序时推进"])
    ws.append([2, "工地扬尘", "2024年6月底前", "市交通运输局", "市住建局", "按序时推进"])
    with ledger.session() as s:
        svc = service(s)
        report = import_xlsx(svc, _save(wb), default_source="2024年市级督察")
        assert report.created == 1 and [(e.row, e.column) for e in report.errors] == [(3, "牵头单位")]
        item = svc.find("rectification", svc.list_records(kind="rectification", q="河道排口").items[0].code)
        assert svc.unit_names(item, "responsible") == ["市水利局", "市住建局"] and _leads(svc, item.id) == ["市水利局"]
