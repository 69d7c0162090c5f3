"""Explicit state machines, petition time limits, and the "at risk" / "overdue" rules (docs/ledger.md#states).

Every kind of record has a :class:`Machine`: its states (with the Chinese labels used in sheets and screens),
the states that count as done, and the named transitions. A :class:`Transition` says from which states it
leaves, where it goes, **who** may take it — ``responsible`` (the responsible unit, within the scope rules of
:mod:`.rbac`, or a supervisor) or ``supervisor`` (bureau staff and admins) — and which **evidence** fields the
request must carry. The service (:meth:`.service.LedgerService.transition`) is the only code that changes a
status, and every change is written to the audit log with before/after.

Key rules, in the ledger's own words:

* 销号 (``sign_off``) only from 已完成整改, with the sign-off evidence and a public disclosure text (the record is
  then disclosed); 验收 (``accept``) needs the acceptance evidence. A relapse (反弹回潮) re-opens the item.
* A petition is accepted (受理) or refused (不予受理) within the acceptance limit, assigned (交办) to the units that
  handle it, may be extended once (延期, with a reason, before its due date, up to the channel's maximum), replied
  (答复) by the assigned unit, and closed (办结) after the callback (回访); an unsatisfied callback re-opens it.
* **主办/协办**: a petition assigned (交办) or an event dispatched (派发) to several units names one host (主办单位,
  :attr:`Machine.assign`); the host answers for the whole (答复, 反馈办理情况 — the petition's and the event's
  :attr:`Machine.whole` step) once every assisting unit (协办单位) has reported its part; an assisting unit never
  takes that step; the bureau may at any time.
* **Several units** (分工完成情况): each unit attached to a rectification item, key task or project reports its own
  part done; the step that declares the whole record done (:attr:`Machine.whole`: 申请验收, 完成, 完工) is the lead
  unit's (牵头单位), once every other unit has reported — or the bureau's. A cooperating or co-responsible unit never
  takes it (:mod:`.service.parts`).
* **Overdue**: the record is not done and today is after its deadline (date-kind deadlines only: 立行立改 and
  长期坚持 have no date). **At risk**: not overdue, less than 10 % of the time between start and deadline is left,
  and no progress entry in the last 30 days (issue 4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .workcal import DEFAULT_CALENDAR, WorkCalendar

RESPONSIBLE = "responsible"
SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    actor: str
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Machine:
    kind: str
    states: dict[str, str]
    initial: str
    done: frozenset[str]
    transitions: tuple[Transition, ...]
    closed: frozenset[str] = field(default_factory=frozenset)
    clock_stops: frozenset[str] = field(default_factory=frozenset)
    #: responsible steps that declare the *whole* record done (申请验收, 完成, 完工): with several units, only a lead
    #: unit takes them, once every other unit has reported its part (docs/ledger.md#分工完成情况)
    whole: frozenset[str] = field(default_factory=frozenset)
    #: the supervisor step that assigns the handling units with a host (主办单位): 交办 of a petition, 派发 of an
    #: event; the host takes the whole step (答复, 反馈), the assisting units (协办单位) report their part to it
    assign: str | None = None

    @property
    def hosted(self) -> bool:
        """Are the record's units a host (主办) and assisting units (协办) rather than a lead and co-units?"""
        return self.assign is not None

    def get(self, name: str) -> Transition:
        for t in self.transitions:
            if t.name == name:
                return t
        raise KeyError(name)

    def available(self, status: str) -> list[Transition]:
        return [t for t in self.transitions if status in t.sources]

    def label(self, status: str) -> str:
        return self.states.get(status, status)

    @property
    def finished(self) -> frozenset[str]:
        """States where the deadline clock stops (done, closed without being done, or an explicit stop such as
        a petition's reply, which meets the reply limit)."""
        return self.done | self.closed | self.clock_stops


RECTIFICATION = Machine(
    kind="rectification",
    states={"in_progress": "按序时推进", "submitted": "待验收", "completed": "已完成整改", "signed_off": "已销号"},
    initial="in_progress",
    done=frozenset({"completed", "signed_off"}),
    transitions=(
        Transition("submit", "申请验收", ("in_progress",), "submitted", RESPONSIBLE, ("completion_note",)),
        Transition("return", "退回整改", ("submitted",), "in_progress", SUPERVISOR, ("reason",)),
        Transition("accept", "验收通过", ("submitted",), "completed", SUPERVISOR, ("acceptance_evidence",)),
        Transition("sign_off", "销号", ("completed",), "signed_off", SUPERVISOR,
                   ("signoff_evidence", "disclosure_text")),
        Transition("reopen", "重新整改（反弹回潮）", ("completed", "signed_off"), "in_progress", SUPERVISOR, ("reason",)),
    ),
    whole=frozenset({"submit"}),
)

KEY_TASK = Machine(
    kind="key_task",
    states={"in_progress": "推进中", "completed": "已完成", "not_met": "未完成"},
    initial="in_progress",
    done=frozenset({"completed"}),
    closed=frozenset({"not_met"}),
    transitions=(
        Transition("complete", "完成", ("in_progress",), "completed", RESPONSIBLE, ("completion_note",)),
        Transition("mark_not_met", "认定未完成", ("in_progress",), "not_met", SUPERVISOR, ("reason",)),
        Transition("reopen", "重新推进", ("completed", "not_met"), "in_progress", SUPERVISOR, ("reason",)),
    ),
    whole=frozenset({"complete"}),
)

PROJECT = Machine(
    kind="project",
    states={"planned": "未开工", "under_construction": "在建", "completed": "已完工", "suspended": "暂缓"},
    initial="planned",
    done=frozenset({"completed"}),
    transitions=(
        Transition("start", "开工", ("planned",), "under_construction", RESPONSIBLE, ("note",)),
        Transition("complete", "完工", ("under_construction",), "completed", RESPONSIBLE, ("note",)),
        Transition("suspend", "暂缓实施", ("planned", "under_construction"), "suspended", SUPERVISOR, ("reason",)),
        Transition("resume", "恢复实施", ("suspended",), "under_construction", SUPERVISOR, ("reason",)),
        Transition("reopen", "重新实施", ("completed",), "under_construction", SUPERVISOR, ("reason",)),
    ),
    whole=frozenset({"complete"}),
)

CAMPAIGN = Machine(
    kind="campaign",
    states={"active": "进行中", "closed": "已结束"},
    initial="active",
    done=frozenset({"closed"}),
    transitions=(
        Transition("close", "结束专项", ("active",), "closed", SUPERVISOR, ("note",)),
        Transition("reopen", "重启专项", ("closed",), "active", SUPERVISOR, ("reason",)),
    ),
)

PETITION = Machine(
    kind="petition",
    states={
        "received": "已登记",
        "accepted": "已受理",
        "rejected": "不予受理",
        "assigned": "已交办",
        "extended": "已延期",
        "replied": "已答复",
        "closed": "已办结",
    },
    initial="received",
    done=frozenset({"closed"}),
    closed=frozenset({"rejected"}),
    clock_stops=frozenset({"replied"}),
    transitions=(
        Transition("accept", "受理", ("received",), "accepted", SUPERVISOR),
        Transition("reject", "不予受理", ("received",), "rejected", SUPERVISOR, ("reason",)),
        Transition("assign", "交办", ("accepted",), "assigned", SUPERVISOR, ("unit_ids",)),
        Transition("extend", "延期", ("assigned",), "extended", SUPERVISOR, ("days", "reason")),
        Transition("reply", "答复", ("assigned", "extended"), "replied", RESPONSIBLE, ("reply_text",)),
        Transition("close", "回访办结", ("replied",), "closed", SUPERVISOR, ("satisfaction",)),
        Transition("reopen", "回访不满意，重新办理", ("replied", "closed"), "assigned", SUPERVISOR, ("reason",)),
    ),
    whole=frozenset({"reply"}),
    assign="assign",
)

CASE = Machine(
    kind="case",
    states={
        "filed": "已立案",
        "investigated": "调查终结",
        "notified": "已告知",
        "decided": "已作出处罚决定",
        "executed": "执行完毕",
        "closed": "已结案",
        "dismissed": "已撤销立案",
    },
    initial="filed",
    done=frozenset({"executed", "closed"}),
    closed=frozenset({"dismissed"}),
    transitions=(
        Transition("investigate", "调查终结", ("filed",), "investigated", RESPONSIBLE, ("note",)),
        Transition("notify", "告知陈述申辩/听证权利", ("investigated",), "notified", RESPONSIBLE, ("note",)),
        Transition("decide", "作出处罚决定", ("notified",), "decided", SUPERVISOR, ("decision_no", "penalty_amount")),
        Transition("execute", "执行完毕", ("decided",), "executed", RESPONSIBLE, ("note",)),
        Transition("close", "结案", ("executed",), "closed", SUPERVISOR, ("note",)),
        Transition("dismiss", "撤销立案", ("filed", "investigated"), "dismissed", SUPERVISOR, ("reason",)),
    ),
)

EVENT = Machine(
    kind="event",
    states={
        "new": "新建",
        "dispatched": "已派发",
        "answered": "已反馈",
        "returned": "已退回",
        "closed": "已办结",
        "to_case": "已转立案",
        "cancelled": "已撤销",
    },
    initial="new",
    done=frozenset({"closed", "to_case"}),
    closed=frozenset({"cancelled"}),
    clock_stops=frozenset({"answered"}),
    transitions=(
        Transition("dispatch", "派发", ("new",), "dispatched", SUPERVISOR, ("unit_ids",)),
        Transition("answer", "反馈办理情况", ("dispatched", "returned"), "answered", RESPONSIBLE, ("findings",)),
        Transition("close", "核实办结", ("answered",), "closed", SUPERVISOR, ("note",)),
        Transition("send_back", "退回重办", ("answered",), "returned", SUPERVISOR, ("reason",)),
        Transition("to_case", "转立案查处", ("new", "answered"), "to_case", SUPERVISOR, ("party", "violation")),
        Transition("cancel", "撤销（无需处置）", ("new",), "cancelled", SUPERVISOR, ("reason",)),
    ),
    whole=frozenset({"answer"}),
    assign="dispatch",
)

MACHINES: dict[str, Machine] = {m.kind: m for m in (RECTIFICATION, KEY_TASK, PROJECT, CAMPAIGN, PETITION, CASE,
                                                    EVENT)}


def machine(kind: str) -> Machine:
    return MACHINES[kind]


# --- petition time limits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeLimitPolicy:
    """Time limits of one petition channel, in ``day_kind`` days ('working' or 'calendar').

    ``accept_days``: from receipt to the decision to accept or refuse (告知是否受理); ``reply_days``: from acceptance
    to the reply (办结); ``max_extension_days``: the longest extension, approved before the due date.
    """

    channel: str
    accept_days: int
    reply_days: int
    max_extension_days: int
    day_kind: str = "working"
    basis: str = ""


# Defaults (docs/ledger.md#petition-time-limits-working-days-with-调休): the 15 / 60 / +30 limits of 《信访工作条例》 and the environmental
# petition rules (docs/rules/ledger.md#petition-time-limits, 12369), counted here in working days as bureaux do; a deployment whose local
# rules count calendar days changes ``day_kind`` — the calendar rule then moves a due date off a rest day.
POLICIES: dict[str, TimeLimitPolicy] = {
    "letter_visit": TimeLimitPolicy("letter_visit", 15, 60, 30, "working", "《信访工作条例》：15日内告知是否受理，60日内办结，延长不超过30日"),
    "hotline_12369": TimeLimitPolicy("hotline_12369", 15, 60, 30, "working", "12369 环保举报：15日内告知受理，60日内办结，延期不超过30日"),
    "inspection_handover": TimeLimitPolicy("inspection_handover", 15, 60, 30, "working", "督察组交办信访件：参照信访时限办理"),
}


def accept_due(policy: TimeLimitPolicy, received_on: dt.date, cal: WorkCalendar = DEFAULT_CALENDAR) -> dt.date:
    return cal.add_days(received_on, policy.accept_days, policy.day_kind)


def reply_due(policy: TimeLimitPolicy, accepted_on: dt.date, extension_days: int = 0,
              cal: WorkCalendar = DEFAULT_CALENDAR) -> dt.date:
    return cal.add_days(accepted_on, policy.reply_days + extension_days, policy.day_kind)


# --- at risk / overdue ----------------------------------------------------------------------------------------

AT_RISK_SHARE = 0.10
STALE_DAYS = 30


@dataclass(frozen=True)
class DeadlineState:
    overdue: bool
    at_risk: bool
    days_left: int | None
    share_left: float | None


def deadline_state(status: str, kind: str, start: dt.date | None, deadline: dt.date | None,
                   last_progress: dt.date | None, today: dt.date) -> DeadlineState:
    """Overdue and at-risk flags of a record with a date deadline (calendar days; petitions use their own due
    dates, already computed on the working-day calendar)."""
    m = MACHINES[kind]
    if deadline is None or status in m.finished:
        return DeadlineState(False, False, None, None)
    days_left = (deadline - today).days
    if days_left < 0:
        return DeadlineState(True, False, days_left, 0.0)
    share = None
    if start is not None and deadline > start:
        share = max(0.0, min(1.0, days_left / (deadline - start).days))
    stale = last_progress is None or (today - last_progress).days > STALE_DAYS
    at_risk = share is not None and share < AT_RISK_SHARE and stale
    return DeadlineState(False, at_risk, days_left, share)
