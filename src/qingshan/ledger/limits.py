"""The ranges of every number and text the ledger stores (docs/ledger.md#ranges), enforced in one place.

Numbers: :func:`to_decimal` and :func:`to_int` turn user input (JSON numbers, strings, XLSX cells) into values
within the documented range of the field — finite, non-negative where a negative value means nothing, below a sane
maximum, with no more decimals than the column keeps — or raise :class:`ValidationFailed` with a Chinese message
naming the field and the range (the API answers 422). The service calls them for every number it stores; the API
body models (:mod:`.api`) validate through the same functions, so a value is judged the same way everywhere.

Texts: :func:`check_lengths` (installed as a ``before_flush`` hook by the service) refuses a text longer than its
column (``String(n)``; PostgreSQL would otherwise fail the whole request) or longer than :data:`TEXT_MAX` for
free texts, naming the field. :func:`clean_name` strips control and format characters (bidi overrides such as
U+202E, zero-width characters) from names shown to other people.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import String, Text, event, inspect
from sqlalchemy.orm import Session

from .rbac import LedgerError

INT32_MAX = 2**31 - 1  # ids and integers are 32-bit columns on PostgreSQL
TEXT_MAX = 20_000  # free texts (problem, measures, progress …): far above any real entry, far below a DoS
DATE_MIN, DATE_MAX = dt.date(1950, 1, 1), dt.date(2100, 12, 31)
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?")
_INT_TEXT = re.compile(r"[+-]?\d{1,12}")


class ValidationFailed(LedgerError):
    """The request is malformed (unknown field, bad value)."""


@dataclass(frozen=True)
class NumberRule:
    """A decimal field: its Chinese label, inclusive range and the decimals its column keeps."""

    label: str
    minimum: Decimal
    maximum: Decimal
    places: int

    def describe(self) -> str:
        return f"{_plain(self.minimum)}–{_plain(self.maximum)}，最多 {self.places} 位小数"


@dataclass(frozen=True)
class IntRule:
    label: str
    minimum: int
    maximum: int


_MONEY_WAN = Decimal("100000000")  # 1 亿万元 = 1 万亿元: above any municipal project
_MONEY_YUAN = Decimal("10000000000")  # 100 亿元: above any administrative fine
_QUANTITY = Decimal("1000000000000")

#: every decimal the ledger stores (key: field name)
NUMBERS: dict[str, NumberRule] = {
    "planned_investment": NumberRule("计划投资（万元）", Decimal(0), _MONEY_WAN, 2),
    "completed_investment": NumberRule("完成投资（万元）", Decimal(0), _MONEY_WAN, 2),
    "percent_complete": NumberRule("完成比例（%）", Decimal(0), Decimal(100), 2),
    "penalty_amount": NumberRule("罚款金额（元）", Decimal(0), _MONEY_YUAN, 2),
    "original_fine": NumberRule("原处罚罚款数额（元）", Decimal(0), _MONEY_YUAN, 2),
    # indicator targets and achieved values may be negative (e.g. a change rate)
    "indicator": NumberRule("指标值", -_QUANTITY, _QUANTITY, 4),
}

#: every integer the ledger takes from users (key: field name)
INTS: dict[str, IntRule] = {
    "seq": IntRule("序号", 1, 99_999),
    "year": IntRule("年度", 2000, 2100),
    "district_id": IntRule("辖市区编号", 1, INT32_MAX),
    "days": IntRule("延期天数", 1, 365),
    "expected_version": IntRule("版本", 0, INT32_MAX),
    "id": IntRule("编号", 1, INT32_MAX),
}

#: at most this many enterprises in one request (a campaign has a few thousand)
MAX_ENTERPRISES_PER_REQUEST = 10_000

#: Chinese labels of text columns for the length messages
TEXT_LABELS = {
    "code": "编号", "title": "标题", "source_inspection": "督察来源", "problem": "问题", "measures": "整改措施",
    "completion_note": "完成情况说明", "acceptance_evidence": "验收材料", "signoff_evidence": "销号材料",
    "plan": "方案", "section": "类别", "description": "说明", "category": "类别", "complainant": "信访人",
    "contact": "联系方式", "content": "内容", "extension_reason": "延期理由", "reply_text": "答复内容",
    "case_no": "案号", "party": "当事人", "violation": "违法行为", "legal_basis": "法律依据",
    "decision_no": "处罚决定书文号", "transfer_ref": "移送文书编号", "name": "名称", "unit": "计量单位",
    "note": "说明", "credit_code": "统一社会信用代码", "stage_note": "阶段说明", "text": "进展内容",
    "username": "用户名", "display_name": "显示名", "filename": "文件名", "disclosure_text": "公开说明",
    "author_name": "填报人",
}


def _plain(d: Decimal) -> str:
    return format(d, "f")


def to_decimal(value: Any, field: str | NumberRule = "数值") -> Decimal | None:
    """``value`` as a Decimal within the rule of ``field`` (a key of :data:`NUMBERS` or a rule); None for empty.

    A plain label instead of a key checks only that the value is a finite number."""
    if value is None or value == "":
        return None
    rule = field if isinstance(field, NumberRule) else NUMBERS.get(field)
    label = rule.label if rule is not None else str(field)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise ValidationFailed(f"{label}：应为数值，收到 {_shown(value)}")
    text = str(value).strip().replace(",", "")
    if not _NUMBER_TEXT.fullmatch(text) or len(text) > 40:
        raise ValidationFailed(f"{label}：不是有限数值 {_shown(value)}")
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(f"{label}：不是数值 {_shown(value)}") from None
    if rule is None:
        return d
    if not rule.minimum <= d <= rule.maximum:
        raise ValidationFailed(f"{label}：{_shown(value)} 超出范围（{rule.describe()}）")
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)  # finite by the pattern above
    if exponent > 0:  # 1E+2 -> 100
        return d.quantize(Decimal(1))
    if -exponent > rule.places:
        step = Decimal(1).scaleb(-rule.places)
        if d != d.quantize(step):
            raise ValidationFailed(f"{label}：最多 {rule.places} 位小数，收到 {_shown(value)}")
        d = d.quantize(step)
    return d


def to_int(value: Any, field: str | IntRule, *, allow_none: bool = False) -> int | None:
    """``value`` as an int within the rule of ``field`` (a key of :data:`INTS` or a rule)."""
    rule = field if isinstance(field, IntRule) else INTS[field]
    if value is None or value == "":
        if allow_none:
            return None
        raise ValidationFailed(f"{rule.label}不能为空")
    n: int | None = None
    if isinstance(value, bool):
        n = None
    elif isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral():
        n = int(value)
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        n = int(value.strip())
    if n is None:
        raise ValidationFailed(f"{rule.label}：应为整数，收到 {_shown(value)}")
    if not rule.minimum <= n <= rule.maximum:
        raise ValidationFailed(f"{rule.label}：{n} 超出范围（{rule.minimum}–{rule.maximum}）")
    return n


def to_text(value: Any, label: str, *, max_len: int = TEXT_MAX, required: bool = False) -> str | None:
    """A text field: a ``str`` (stripped) of at most ``max_len`` characters; None when empty and not required."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(f"{label}不能为空")
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{label}：应为文本，收到 {_shown(value)}")
    text = value.strip()
    if len(text) > max_len:
        raise ValidationFailed(f"{label}：不能超过 {max_len} 个字符（收到 {len(text)} 个）")
    return text


def check_date(d: dt.date, label: str) -> dt.date:
    if not DATE_MIN <= d <= DATE_MAX:
        raise ValidationFailed(f"{label}：{d.isoformat()} 超出范围（{DATE_MIN.year}–{DATE_MAX.year} 年）")
    return d


def valid_id(value: Any) -> bool:
    """Could ``value`` be a row id (a positive 32-bit int)? Larger ones overflow the database driver."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= INT32_MAX


def clean_name(text: str) -> str:
    """A name shown to others without control or format characters (Unicode categories Cc and Cf: bidi overrides
    like U+202E, zero-width spaces and joiners, BOM), NFC-normalised and with inner whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf") or ch in " \t")
    return re.sub(r"\s+", " ", text).strip()


def _shown(value: Any) -> str:
    s = repr(value)
    return s if len(s) <= 40 else s[:37] + "…"


def check_lengths(session: Session, flush_context: Any = None, instances: Any = None) -> None:
    """Refuse new or changed texts longer than their column (or :data:`TEXT_MAX` for free texts)."""
    for obj in list(session.new) + list(session.dirty):
        mapper = inspect(obj).mapper
        for attr in mapper.column_attrs:
            col = attr.columns[0]
            value = getattr(obj, attr.key, None)
            if not isinstance(value, str):
                continue
            if isinstance(col.type, String) and not isinstance(col.type, Text) and col.type.length:
                limit = col.type.length
            elif isinstance(col.type, Text):
                limit = TEXT_MAX
            else:
                continue
            if len(value) > limit:
                label = TEXT_LABELS.get(attr.key, attr.key)
                raise ValidationFailed(f"{label}：不能超过 {limit} 个字符（收到 {len(value)} 个）")


def install_length_check(session: Session) -> None:
    if not event.contains(session, "before_flush", check_lengths):
        event.listen(session, "before_flush", check_lengths)
