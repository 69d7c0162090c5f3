"""Shared pieces of the annual bulletin builders (:mod:`.bulletin`): the chapter container, the optional input
files, the year-on-year wording and the figure factory.

Year-on-year changes follow the bulletins' practice: they are computed from the **reported** (already rounded)
values, so a reader can recompute them from the printed numbers — 34 vs 33 µg/m³ is "上升3.0%" even if the
unrounded means differ by 2.6 %. A relative change is rounded to one decimal, a difference of two ratios is given
in percentage points with one decimal, a difference of two levels (dB(A), pH) with the levels' own decimals; all
rounding is GB/T 8170 (:func:`qingshan.standards.rounding.round_gbt8170`).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..numbers import finite
from ..standards.dustfall import DEFAULT_TARGET
from ..standards.rounding import round_gbt8170
from .model import CN_NUM, Block, Figure, Section

log = logging.getLogger(__name__)

SPECS_MODULE = "qingshan.charts.specs"


@dataclass(frozen=True)
class BulletinInputs:
    """Input files of the noise, rain and dustfall sections (formats of docs/water.md, the same files the
    ``qingshan noise|rain|dust evaluate`` commands read); a section without its file uses the store's data."""

    noise_regional: Path | None = None
    noise_road: Path | None = None
    noise_zone: Path | None = None
    rain: Path | None = None
    dust: Path | None = None
    dust_target: float = DEFAULT_TARGET


@dataclass
class Chapter:
    """One chapter of the bulletin: an introduction and unnumbered level-2 sections (numbered on assembly), with
    what the provenance block and the overview need."""

    title: str
    intro: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    rulesets: list[str] = field(default_factory=list)
    coverage: list[tuple[str, str]] = field(default_factory=list)
    import_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Log:
    """The generation log: lines end up in ``Document.log`` and the Python log."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, message: str) -> None:
        if message not in self.lines:
            self.lines.append(message)
            log.info(message)


# --- numbers ------------------------------------------------------------------------------------------------------


def pct_change(cur: Any, prev: Any) -> float | None:
    """Relative change in %, from the reported values, 1 decimal (GB/T 8170); None without a comparison."""
    cur, prev = finite(cur), finite(prev)
    if cur is None or prev is None or prev == 0:
        return None
    return round_gbt8170((cur - prev) / prev * 100.0, 1)


def diff(cur: Any, prev: Any, digits: int = 1) -> float | None:
    """Difference of two reported values (percentage points, dB(A), pH units), ``digits`` decimals."""
    cur, prev = finite(cur), finite(prev)
    if cur is None or prev is None:
        return None
    return round_gbt8170(cur - prev, digits)


def share(part: float, whole: float, digits: int = 1) -> float | None:
    """``part`` / ``whole`` in %, GB/T 8170."""
    return None if not whole else round_gbt8170(100.0 * part / whole, digits)


ChangeKind = Literal["pct", "pp", "abs"]


def change_words(c: float | None, kind: ChangeKind, digits: int = 1, unit: str = "",
                 up: str = "上升", down: str = "下降") -> str:
    """"上升3.0%" / "下降1.1个百分点" / "上升0.5dB(A)" / "持平"; empty without a comparison."""
    if c is None:
        return ""
    if c == 0:
        return "持平"
    verb = up if c > 0 else down
    amount = f"{abs(c):.{digits}f}"
    suffix = {"pct": "%", "pp": "个百分点", "abs": unit}[kind]
    return f"{verb}{amount}{suffix}"


def yoy(c: float | None, kind: ChangeKind, digits: int = 1, unit: str = "", up: str = "上升",
        down: str = "下降", *, flat: str = "与上年持平") -> str:
    """The clause after a value: "，同比上升3.0%" / "，与上年持平" (``flat``); empty without a comparison."""
    w = change_words(c, kind, digits, unit, up, down)
    if not w:
        return ""
    return f"，{flat}" if w == "持平" else f"，同比{w}"


def join_cn(items: list[str]) -> str:
    """A、B和C."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return "、".join(items[:-1]) + "和" + items[-1]


def numbered(i: int) -> str:
    return CN_NUM[i] if i < len(CN_NUM) else str(i + 1)


# --- figures ------------------------------------------------------------------------------------------------------


class Figures:
    """Figure blocks from :mod:`qingshan.charts.specs` (looked up when a figure is made, so the chart module may
    arrive later than this one). When the module is not installed the bulletin is produced without figures and the
    log says so."""

    def __init__(self, note: Log) -> None:
        self.note = note

    def make(self, kind: str, *args: Any, caption: str, **kwargs: Any) -> Figure | None:
        try:
            specs = importlib.import_module(SPECS_MODULE)
        except ModuleNotFoundError as e:
            if e.name not in (SPECS_MODULE, SPECS_MODULE.rsplit(".", 1)[0]):
                raise
            self.note(f"图表模块 {SPECS_MODULE} 不可用，公报未插入图表（“{caption}”等）。")
            return None
        return Figure(getattr(specs, kind)(*args, **kwargs), caption)
