"""Typed request bodies of the ledger API (docs/ledger.md#api, docs/ledger.md#ranges) and the Chinese 422 message.

Every body is a pydantic model with its types and ranges, so a malformed request — a wrong type, a missing key, a
huge integer, a nested object where a value belongs, an unknown field — is refused with 422 and a message naming
the field, before the service runs. Numbers go through the same functions as in the service
(:func:`.limits.to_decimal`, :func:`.limits.to_int`), so a range is judged the same way by the API, the CLI and
the XLSX import. The service checks everything again (it is also called by the CLI and the importers).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union

from fastapi import Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from .limits import (
    INT32_MAX,
    INTS,
    MAX_ENTERPRISES_PER_REQUEST,
    NUMBERS,
    TEXT_MAX,
    ValidationFailed,
    check_date,
    to_decimal,
    to_int,
)
from .models import DEADLINE_KINDS, ENTERPRISE_STAGES, EVENT_KINDS, EVENT_LEVELS, PETITION_CHANNELS, ROLES

# --- field types -------------------------------------------------------------------------------------------------


def _ledger_error(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Run a limits check inside pydantic: its ValidationFailed becomes a validation error with the same text."""
    def run(value: Any) -> Any:
        try:
            return fn(value)
        except ValidationFailed as e:
            raise PydanticCustomError("ledger_value", "{message}", {"message": str(e)}) from None
    return run


def _number(rule: str) -> Any:
    r = NUMBERS[rule]
    return Annotated[Decimal, BeforeValidator(_ledger_error(lambda v: to_decimal(v, rule))),
                     Field(ge=r.minimum, le=r.maximum, description=f"{r.label}：{r.describe()}")]


def _integer(rule: str) -> Any:
    r = INTS[rule]
    return Annotated[int, BeforeValidator(_ledger_error(lambda v: to_int(v, rule))),
                     Field(ge=r.minimum, le=r.maximum, description=r.label)]


def Text(n: int = TEXT_MAX) -> Any:  # noqa: N802 - a type factory
    return Annotated[str, StringConstraints(max_length=n)]


LedgerDate = Annotated[dt.date, AfterValidator(_ledger_error(lambda d: check_date(d, "日期")))]
RowId = Annotated[int, Field(ge=1, le=INT32_MAX)]
UnitRef = Union[RowId, Annotated[str, StringConstraints(min_length=1, max_length=200)]]
Units = Union[UnitRef, Annotated[list[UnitRef], Field(max_length=100)]]
Seq = _integer("seq")
Year = _integer("year")

# path and query parameters
RecordId = Annotated[int, Path(ge=1, le=INT32_MAX, description="台账记录编号")]
SubId = Annotated[int, Path(ge=1, le=INT32_MAX)]
Offset = Annotated[int, Query(ge=0, le=INT32_MAX)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- creating records ----------------------------------------------------------------------------------------------


class _Common(Body):
    code: Optional[Text(64)] = None
    title: Optional[Text(300)] = None
    note: Optional[Text()] = None


class _Planned(_Common):
    responsible: Units = []
    cooperating: Units = []
    deadline: Optional[LedgerDate] = None
    start_date: Optional[LedgerDate] = None
    status: Optional[Text(32)] = None
    disclosed: bool = False
    disclosure_text: Optional[Text()] = None


class RectificationFields(_Planned):
    lead: Optional[Units] = Field(None, description="牵头单位（须为责任单位之一；只有一个责任单位时默认即牵头）")
    seq: Seq
    source_inspection: Text(200)
    problem: Text()
    deadline_kind: Literal[DEADLINE_KINDS] = "date"  # type: ignore[valid-type]
    measures: Optional[Text()] = None
    district: Optional[UnitRef] = None
    completion_note: Optional[Text()] = None


class IndicatorIn(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    target: _number("indicator")
    unit: Text(32) = ""
    direction: Literal["min", "max"] = "min"


class KeyTaskFields(_Planned):
    lead: Optional[Units] = Field(None, description="牵头单位（须为责任单位之一；只有一个责任单位时默认即牵头）")
    seq: Seq
    plan: Text(200)
    year: Year
    title: Text(300)  # type: ignore[assignment]
    section: Optional[Text(100)] = None
    description: Optional[Text()] = None
    indicators: Annotated[list[IndicatorIn], Field(max_length=100)] = []


class MilestoneIn(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    planned_date: Optional[LedgerDate] = None
    done_date: Optional[LedgerDate] = None


class ProjectFields(_Planned):
    lead: Optional[Units] = Field(None, description="牵头单位（须为责任单位之一；只有一个责任单位时默认即牵头）")
    title: Text(300)  # type: ignore[assignment]
    category: Optional[Text(100)] = None
    planned_investment: Optional[_number("planned_investment")] = None
    completed_investment: Optional[_number("completed_investment")] = None
    percent_complete: Optional[_number("percent_complete")] = None
    description: Optional[Text()] = None
    district: Optional[UnitRef] = None
    milestones: Annotated[list[MilestoneIn], Field(max_length=100)] = []


class CampaignFields(_Planned):
    title: Text(300)  # type: ignore[assignment]
    description: Optional[Text()] = None
    district: Optional[UnitRef] = None


class PetitionFields(_Common):
    channel: Literal[PETITION_CHANNELS]  # type: ignore[valid-type]
    received_on: LedgerDate
    content: Text()
    category: Optional[Text(50)] = None
    complainant: Optional[Text(100)] = None
    contact: Optional[Text(100)] = None
    district: Optional[UnitRef] = None


class CaseFields(_Common):
    party: Text(200)
    violation: Text()
    filed_on: LedgerDate
    case_no: Optional[Text(64)] = None
    legal_basis: Optional[Text()] = None
    responsible: Units = []
    district: Optional[UnitRef] = None


class EventFields(_Common):
    event_kind: Literal[EVENT_KINDS]  # type: ignore[valid-type]
    level: Literal[EVENT_LEVELS]  # type: ignore[valid-type]
    description: Text()
    station: Optional[Text(100)] = None
    location: Optional[Text(200)] = None
    occurred_at: Optional[dt.datetime] = None
    district: Optional[UnitRef] = None


class CreateRectification(Body):
    kind: Literal["rectification"]
    fields: RectificationFields


class CreateKeyTask(Body):
    kind: Literal["key_task"]
    fields: KeyTaskFields


class CreateProject(Body):
    kind: Literal["project"]
    fields: ProjectFields


class CreateCampaign(Body):
    kind: Literal["campaign"]
    fields: CampaignFields


class CreatePetition(Body):
    kind: Literal["petition"]
    fields: PetitionFields


class CreateCase(Body):
    kind: Literal["case"]
    fields: CaseFields


class CreateEvent(Body):
    kind: Literal["event"]
    fields: EventFields


CreateBody = Annotated[
    Union[CreateRectification, CreateKeyTask, CreateProject, CreateCampaign, CreatePetition, CreateCase,
          CreateEvent],
    Field(discriminator="kind"),
]

# --- changing records ----------------------------------------------------------------------------------------------

#: a field value in a change or a transition payload: a scalar or a list of unit references — never an object
Value = Union[None, bool, int, float, Text(), Annotated[list[UnitRef], Field(max_length=100)]]


class PatchBody(Body):
    changes: Annotated[dict[Text(64), Value], Field(max_length=50)]
    expected_version: Optional[_integer("expected_version")] = Field(
        None, description="读取时的 version；不一致时返回 409")
    note: Optional[Text()] = None


class PartBody(Body):
    """A unit reports its own part of the record done (分工完成情况)."""

    note: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)] = Field(description="本单位完成情况")
    unit: Optional[UnitRef] = Field(None, description="报送单位（默认本人单位；局机关代报时必填）")
    on: Optional[LedgerDate] = Field(None, description="完成日期（默认今天）")


class PartWithdrawBody(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)] = Field(description="撤回理由")
    unit: Optional[UnitRef] = None


class TransitionBody(Body):
    name: Text(64) = Field(description="流转名称，如 submit/accept/sign_off/accept/assign/reply/close …")
    payload: Annotated[dict[Text(64), Value], Field(max_length=50)] = Field(
        default_factory=dict, description="所需材料字段；on=办理日期，note/reason=说明")


class IndicatorValueBody(Body):
    value: _number("indicator")
    as_of: Optional[LedgerDate] = None
    note: Optional[Text()] = None


class MilestoneBody(Body):
    done_date: Optional[LedgerDate]


class EnterpriseIn(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    credit_code: Optional[Text(32)] = None
    district: Optional[UnitRef] = None
    stage: Literal[ENTERPRISE_STAGES] = "registered"  # type: ignore[valid-type]


class EnterprisesBody(Body):
    enterprises: Annotated[list[EnterpriseIn], Field(max_length=MAX_ENTERPRISES_PER_REQUEST)]


class StageBody(Body):
    stage: Literal[ENTERPRISE_STAGES] = Field(description="registered|plan_approved|remediated|accepted")  # type: ignore[valid-type]
    note: Optional[Text()] = None


class TransferBody(Body):
    ref: Text(200)
    on: Optional[LedgerDate] = None


class RecheckBody(Body):
    on: LedgerDate
    violation_continues: bool
    note: Optional[Text()] = None


class RecheckIn(Body):
    on: LedgerDate
    violation_continues: bool


class FineBody(Body):
    original_fine: _number("original_fine")
    order_served_on: LedgerDate
    rechecks: Annotated[list[RecheckIn], Field(max_length=1000, description="[{on: 日期, violation_continues: true/false}]")]
    stop_measure_on: Optional[LedgerDate] = None


class UserBody(Body):
    username: Text(64)
    password: Text(1024)
    role: Literal[ROLES]  # type: ignore[valid-type]
    unit: Optional[UnitRef] = None
    display_name: Optional[Text(100)] = None


class PasswordBody(Body):
    current_password: Text(1024)
    new_password: Text(1024) = Field(description="与新建账号相同的密码规则（至少 8 位）")


# --- the 422 message ---------------------------------------------------------------------------------------------

LOCATIONS = {"query": "查询参数", "path": "路径参数", "body": "请求体", "header": "请求头", "cookie": "Cookie", "form": "表单"}
REASONS = {
    "missing": "缺失", "extra_forbidden": "不是可用的字段",
    "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数",
    "float_parsing": "应为数值", "float_type": "应为数值", "decimal_parsing": "应为数值", "decimal_type": "应为数值",
    "finite_number": "应为有限数值", "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false",
    "string_type": "应为文本", "string_too_long": "过长（最多 {max_length} 个字符）", "string_too_short": "不能为空",
    "date_parsing": "应为日期 YYYY-MM-DD", "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
    "date_from_datetime_inexact": "应为日期 YYYY-MM-DD", "date_type": "应为日期 YYYY-MM-DD",
    "greater_than_equal": "不能小于 {ge}", "less_than_equal": "不能大于 {le}",
    "greater_than": "应大于 {gt}", "less_than": "应小于 {lt}",
    "literal_error": "取值应为 {expected}", "union_tag_invalid": "类型应为 {expected_tags}",
    "union_tag_not_found": "缺少类型字段 {discriminator}",
    "dict_type": "应为对象", "model_type": "应为对象", "model_attributes_type": "应为对象", "list_type": "应为列表",
    "too_long": "条目过多（最多 {max_length} 个）", "too_short": "条目过少",
    "json_invalid": "不是有效的 JSON", "json_type": "不是有效的 JSON",
    "decimal_max_places": "小数位过多", "decimal_max_digits": "位数过多",
}


#: names pydantic gives union members in an error's location (besides "function-before[...]", "list[...]" …)
_MEMBER_NAMES = {"int", "str", "float", "bool", "none", "list", "dict", "decimal", "date", "constrained-str",
                 "constrained-int", "constrained-decimal"}


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(x) for x in loc[1:] if not (isinstance(x, str) and ("[" in x or x in _MEMBER_NAMES))]
    place = LOCATIONS.get(str(loc[0]), str(loc[0])) if loc else "参数"
    return f"{place} {'.'.join(parts)}".strip()


def validation_message(exc: RequestValidationError) -> str:
    """One Chinese line for a request that failed validation: each field and what is wrong with it."""
    by_place: dict[str, list[str]] = {}
    for e in exc.errors():
        kind = e.get("type", "")
        if kind == "ledger_value":
            reason = str((e.get("ctx") or {}).get("message", e.get("msg", "")))
        else:
            try:
                reason = REASONS.get(kind, "格式不正确").format(**(e.get("ctx") or {}))
            except (KeyError, IndexError):
                reason = "格式不正确"
        by_place.setdefault(_where(tuple(e.get("loc", ()))), []).append(reason)
    parts = []
    for place, reasons in by_place.items():
        unique = list(dict.fromkeys(reasons))
        # a value that fits none of a union's members: one message, not one per member
        reason = unique[0] if len(unique) == 1 else "类型或格式不正确"
        parts.append(f"{place}：{reason}" if place else reason)
        if len(parts) == 5:
            break
    return "；".join(parts) or "请求参数有误"


# --- command and dispatch (指挥调度) ------------------------------------------------------------------------------


def _small_json(value: Any) -> Any:
    if value is not None and len(json.dumps(value, ensure_ascii=False, default=str)) > MAX_EVIDENCE_CHARS:
        raise ValueError(f"证据不能超过 {MAX_EVIDENCE_CHARS} 个字符")
    return value


MAX_EVIDENCE_CHARS = 100_000


class AlarmBody(Body):
    """An alarm of the alarm centre, as a plain object (docs/ledger.md#指挥调度)."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    station: Optional[Text(100)] = None
    hour: Optional[dt.datetime] = None
    rule: Optional[Text(100)] = None
    level: Optional[Literal[EVENT_LEVELS]] = None  # type: ignore[valid-type]
    evidence: Annotated[Optional[dict[str, Any]], AfterValidator(_small_json)] = None
    note: Optional[Text()] = None
    location: Optional[Text(200)] = None
    title: Optional[Text(300)] = None
    event_kind: Optional[Literal[EVENT_KINDS]] = None  # type: ignore[valid-type]
    district: Optional[UnitRef] = None


class DispatchBody(Body):
    unit_ids: Annotated[list[UnitRef], Field(min_length=1, max_length=100)]
    host_unit_id: Optional[UnitRef] = Field(None, description="主办单位（派发给多个单位时必填，须为其中之一；其余为协办单位）")
    note: Optional[Text()] = None


class NoteBody(Body):
    note: Text()


class ReasonBody(Body):
    reason: Text()


class ToCaseBody(Body):
    party: Text(200)
    violation: Text()
    legal_basis: Optional[Text()] = None
    case_no: Optional[Text(64)] = None
    note: Optional[Text()] = None
