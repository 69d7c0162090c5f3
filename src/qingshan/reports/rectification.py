"""Public disclosure of inspection rectification progress (督察整改落实情况公开), built from the ledger.

The shape follows the city's own disclosure (seeds/000): the overall counts first — how many rectification tasks
the inspection left, how many are completed, how many still in progress, and the petitions the inspectors handed
over (received / closed / still being handled) — then every task with its problem, its deadline (整改时限), its
state (完成情况) and the disclosed progress text (整改进展).

**Only disclosed content.** Records are read through :class:`~qingshan.ledger.service.LedgerService` bound to
:meth:`Principal.public() <qingshan.ledger.rbac.Principal.public>`, so an undisclosed task does not exist for this
module. Of a disclosed task it uses the public fields only (sequence, title, problem, deadline, state with its
acceptance/sign-off dates, disclosure text, and — on request — the responsible units, which the ledger's public
export also shows); never the internal measures, progress entries, evidence or audit trail. Petitions are never
disclosed one by one: the report shows aggregate counts, as :meth:`LedgerService.stats` does for the public, read
from the channel, date and status columns only (never the content or the complainant).

**Which inspection.** Tasks carry their inspection in ``source_inspection`` (e.g. 第二轮第二批省生态环境保护督察
（2023年）). Petitions carry no inspection, only the channel 督察组交办; they are attributed to an inspection by
date: handed over on or before the inspection's feedback date (the earliest ``start_date`` of its tasks — the
inspectors receive petitions while on site, before they report back) and after the feedback date of the previous
inspection in the ledger, if any.

**As of a date.** A task counts as completed if it is completed (or signed off) *and* was accepted on or before
the as-of date; one accepted later is shown as still in progress. Tasks issued after the as-of date (start date
later) are left out. A petition counts as closed if it was closed on or before the date; handed-over petitions
received after it are left out. What the ledger cannot tell is stated in the appendix: disclosure texts and
units are today's, and a task reopened since (反弹回潮) is shown in progress even for dates when it was complete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..charts.specs import NEUTRAL, STATUS_COLOURS, category_share
from ..ledger.models import Petition, RectificationItem, now_beijing
from ..ledger.rbac import Principal
from ..ledger.service import LedgerService
from ..ledger.workflow import RECTIFICATION
from ..ledger.xlsx import format_deadline
from .errors import ReportError
from .model import Cell, Document, Figure, Paragraph, Provenance, Section, Table

DONE_LABEL = RECTIFICATION.label("completed")  # 已完成整改
PROGRESS_LABEL = RECTIFICATION.label("in_progress")  # 按序时推进
HANDOVER = "inspection_handover"


class RectificationReportError(ReportError):
    """The disclosure cannot be built (unknown or ambiguous inspection, nothing disclosed)."""


@dataclass(frozen=True)
class ItemState:
    """One disclosed task as of the report date."""

    seq: int
    title: str
    problem: str
    deadline_text: str
    completed: bool
    status_text: str
    disclosure_text: str
    responsible: tuple[str, ...]
    overdue: bool


@dataclass(frozen=True)
class PetitionCounts:
    received: int
    closed: int
    rejected: int

    @property
    def open(self) -> int:
        return self.received - self.closed - self.rejected


# --- reading the ledger --------------------------------------------------------------------------------------------


def public_items(session: Session) -> list[RectificationItem]:
    """Every rectification task the public may see (disclosed ones), through the service's visibility rules."""
    svc = LedgerService(session, Principal.public())
    return [r for r in svc.list_records(kind="rectification", limit=None).items if isinstance(r, RectificationItem)]


def inspections(session: Session) -> list[str]:
    """The inspections (``source_inspection``) with disclosed tasks, ordered by their feedback date."""
    items = public_items(session)
    first: dict[str, dt.date] = {}
    for r in items:
        d = r.start_date or dt.date.max
        first[r.source_inspection] = min(first.get(r.source_inspection, dt.date.max), d)
    return sorted(first, key=lambda k: (first[k], k))


def resolve_inspection(session: Session, inspection: str | None) -> str:
    """The inspection named exactly, or by a unique part of its name, or the only one; a Chinese error listing the
    available inspections otherwise."""
    available = inspections(session)
    listing = "；".join(available) if available else "（台账中没有已公开的督察整改任务）"
    if not available:
        raise RectificationReportError(f"台账中没有已公开的督察整改任务，无法生成公开材料。可选督察批次：{listing}")
    if inspection is None or not inspection.strip():
        if len(available) == 1:
            return available[0]
        raise RectificationReportError(f"台账中有多个督察批次，请用 --inspection 指定：{listing}")
    name = inspection.strip()
    if name in available:
        return name
    partial = [a for a in available if name in a]
    if len(partial) == 1:
        return partial[0]
    why = "匹配到多个" if partial else "没有找到"
    raise RectificationReportError(f"{why}督察批次“{name}”。可选督察批次：{listing}")


def _feedback_dates(items: Sequence[RectificationItem]) -> dict[str, dt.date]:
    out: dict[str, dt.date] = {}
    for r in items:
        if r.start_date is not None:
            out[r.source_inspection] = min(out.get(r.source_inspection, r.start_date), r.start_date)
    return out


def petition_window(session: Session, inspection: str) -> tuple[dt.date | None, dt.date | None]:
    """``(after, until)``: handed-over petitions received in ``(after, until]`` belong to ``inspection``."""
    feedback = _feedback_dates(public_items(session))
    until = feedback.get(inspection)
    if until is None:
        return None, None
    earlier = [d for k, d in feedback.items() if k != inspection and d < until]
    return (max(earlier) if earlier else None), until


def petition_counts(session: Session, inspection: str, as_of: dt.date) -> PetitionCounts:
    """Aggregate counts of the petitions handed over by ``inspection``'s inspectors, as of ``as_of``."""
    after, until = petition_window(session, inspection)
    stmt = select(Petition.status, Petition.closed_on).where(Petition.channel == HANDOVER,
                                                             Petition.received_on <= as_of)
    if until is not None:
        stmt = stmt.where(Petition.received_on <= until)
    if after is not None:
        stmt = stmt.where(Petition.received_on > after)
    received = closed = rejected = 0
    for status, closed_on in session.execute(stmt).all():
        received += 1
        finished = closed_on is not None and closed_on <= as_of
        closed += status == "closed" and finished
        rejected += status == "rejected" and finished
    return PetitionCounts(received, closed, rejected)


def item_state(r: RectificationItem, as_of: dt.date, include_units: bool) -> ItemState:
    """The task as of ``as_of`` (see the module docstring for what "completed as of" means)."""
    accepted = r.accepted_at.date() if r.accepted_at is not None else None
    completed = r.status in RECTIFICATION.done and accepted is not None and accepted <= as_of
    if completed:
        signed = r.signed_off_at.date() if r.signed_off_at is not None else None
        status_text = RECTIFICATION.label("signed_off") if signed is not None and signed <= as_of else DONE_LABEL
    elif r.status in RECTIFICATION.done:
        status_text = PROGRESS_LABEL
    else:
        status_text = RECTIFICATION.label(r.status)
    overdue = (not completed and r.deadline_kind in (None, "date") and r.deadline is not None
               and r.deadline < as_of)
    units = tuple(LedgerService.unit_names(r, "responsible")) if include_units else ()
    return ItemState(r.seq, r.title, r.problem, format_deadline(r.deadline_kind, r.deadline) or "—", completed,
                     status_text, (r.disclosure_text or "").strip(), units, overdue)


def _schema_version(session: Session) -> str:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(session.connection()).get_current_revision() or "未知"


# --- the document ----------------------------------------------------------------------------------------------------


_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 21 → 二十一, 41 → 四十一 (1…99, the numbering of Chinese official documents)."""
    if not 1 <= n <= 99:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else f"{_DIGITS[tens]}十")
    return head + (_DIGITS[ones] if ones else "")


def _date_text(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _overview(inspection: str, as_of: dt.date, states: list[ItemState], pet: PetitionCounts) -> Section:
    total = len(states)
    done = sum(s.completed for s in states)
    left = total - done
    text = f"截至{_date_text(as_of)}，{inspection}反馈问题整改任务共{total}项，已完成整改{done}项"
    text += f"，其余{left}项按序时推进。" if left else "，全部完成整改。"
    long_term = sum(1 for s in states if "长期坚持" in s.deadline_text)
    if long_term:
        text += f"其中，整改时限为“立行立改、长期坚持”或“长期坚持”的任务{long_term}项，将持续推进。"
    overdue = sum(s.overdue for s in states)
    if overdue:
        text += f"已超过整改时限尚未完成整改的任务{overdue}项。"
    blocks: list = [Paragraph(text)]
    rows = [[Cell("整改任务"), Cell(str(total)), Cell(str(done)), Cell(str(left))]]
    if pet.received:
        p_text = f"督察组交办信访件{pet.received}件，已办结{pet.closed}件"
        if pet.rejected:
            p_text += f"，不予受理{pet.rejected}件"
        p_text += f"，正在办理{pet.open}件。" if pet.open else "，已全部办结。"
        blocks.append(Paragraph(p_text))
        rows.append([Cell("督察组交办信访件"), Cell(str(pet.received)), Cell(str(pet.closed + pet.rejected)),
                     Cell(str(pet.open))])
    blocks.append(Table(["类别", "总数", "已完成（已办结）", "推进中（办理中）"], rows, caption="表1 整改总体情况"))
    if total:
        colours = {DONE_LABEL: STATUS_COLOURS["正常"], PROGRESS_LABEL: NEUTRAL}
        blocks.append(Figure(category_share({DONE_LABEL: done, PROGRESS_LABEL: left}, "整改任务完成情况",
                                            colours=colours), "图1 整改任务完成情况", width_cm=8.0))
    return Section("一、总体情况", blocks)


def _list_table(states: list[ItemState], include_units: bool) -> Section:
    header = ["序号", "问题", "整改时限", "完成情况"] + (["责任单位"] if include_units else [])
    rows = []
    for s in states:
        row = [Cell(str(s.seq)), Cell(s.title), Cell(s.deadline_text), Cell(s.status_text)]
        if include_units:
            row.append(Cell("、".join(s.responsible) or "—"))
        rows.append(row)
    return Section("二、整改任务清单", [Table(header, rows, caption="表2 整改任务清单")])


def _item_sections(states: list[ItemState], include_units: bool) -> list[Section]:
    out = [Section("三、各项整改任务进展", [])]
    for s in states:
        blocks: list = [Paragraph(f"存在问题：{s.problem}"), Paragraph(f"整改时限：{s.deadline_text}。")]
        if include_units:
            blocks.append(Paragraph(f"责任单位：{'、'.join(s.responsible) or '—'}。"))
        blocks.append(Paragraph(f"完成情况：{s.status_text}。"))
        if s.disclosure_text:
            blocks.append(Paragraph(f"整改进展：{s.disclosure_text}"))
        out.append(Section(f"（{cn_number(s.seq)}）{s.title}", blocks, level=2))
    return out


def build_rectification(session: Session, inspection: str | None, as_of: dt.date, *, include_units: bool = False,
                        now: dt.datetime | None = None) -> Document:
    """The public rectification progress disclosure of ``inspection`` as of ``as_of`` (see the module docstring).

    ``inspection`` is the task's 督察来源 exactly, a unique part of it, or None when the ledger holds one
    inspection only. ``include_units`` adds the responsible units (the seed's disclosure does not name them).
    """
    name = resolve_inspection(session, inspection)
    items = [r for r in public_items(session) if r.source_inspection == name]
    later = [r for r in items if r.start_date is not None and r.start_date > as_of]
    items = sorted((r for r in items if r not in later), key=lambda r: (r.seq, r.code))
    if not items:
        raise RectificationReportError(f"截至{_date_text(as_of)}，督察批次“{name}”没有已下达的公开整改任务。")
    states = [item_state(r, as_of, include_units) for r in items]
    pet = petition_counts(session, name, as_of)
    after, until = petition_window(session, name)
    doc = Document(f"{name}整改落实情况", subtitle=f"（截至{_date_text(as_of)}）")
    doc.sections.append(_overview(name, as_of, states, pet))
    doc.sections.append(_list_table(states, include_units))
    doc.sections.extend(_item_sections(states, include_units))
    if later:
        doc.log.append(f"{len(later)}项整改任务的开始日期晚于{as_of.isoformat()}，未列入。")
    if not pet.received:
        doc.log.append("台账中没有可归入该督察批次的督察组交办信访件，略去信访件情况。")
    window = ("督察组交办渠道、收件日期" + (f"晚于{after.isoformat()}（上一批次反馈日）" if after else "")
              + (f"不晚于{until.isoformat()}（本批次反馈日）" if until else "不限") + f"且不晚于{as_of.isoformat()}")
    doc.sections.append(Section("附录 数据来源与口径", [Provenance(
        rulesets=[f"治理台账（数据库结构版本 {_schema_version(session)}）", "公开口径：仅已公开的整改任务及其公开说明"],
        coverage=[
            ("督察批次", name),
            ("截止日期", as_of.isoformat()),
            ("整改任务", f"该批次已公开的整改任务{len(states)}项（未公开的任务不列入统计）"),
            ("完成口径", f"已完成整改或已销号、且验收通过日期不晚于{as_of.isoformat()}"),
            ("交办信访件", f"{window}的信访件（仅统计数量）"),
        ],
        import_ids=[],
        generated_at=now or now_beijing().replace(microsecond=0),
        notes=["注：整改进展为台账中现行的公开说明；截止日期之后重新整改（反弹回潮）的任务按推进中列示。"],
    )]))
    return doc
