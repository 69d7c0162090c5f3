"""A small, renderer-independent document model for generated reports.

A :class:`Document` holds a title and :class:`Section` s; a section holds a heading and blocks
(:class:`Paragraph`, :class:`Table`, :class:`Footnote`, :class:`Provenance`). Paragraph texts are produced by
the builders from engine results; nothing in the model computes numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ..charts.highlights import HIGHLIGHT_FILL, HIGHLIGHT_MEANING, Highlight
from ..numbers import DASH

__all__ = ["DASH", "HIGHLIGHT_FILL", "HIGHLIGHT_MEANING", "Highlight"]  # re-exported for the renderers
#: Chinese numerals of section headings (一、二、…)
CN_NUM = "一二三四五六七八九十"



@dataclass
class Paragraph:
    text: str
    style: Literal["body", "note"] = "body"


@dataclass
class Cell:
    text: str
    highlight: Highlight | None = None


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]]
    caption: str | None = None

    def __post_init__(self) -> None:
        for r in self.rows:
            if len(r) != len(self.header):
                raise ValueError(f"表格行的单元格数 {len(r)} 与表头列数 {len(self.header)} 不一致")


@dataclass
class Footnote:
    """A note attached to the preceding table; ``marker`` also appears in the cell it explains."""

    marker: str
    text: str


@dataclass
class Provenance:
    """Where the numbers came from: rule sets, data coverage, import batches and the generation time."""

    rulesets: list[str]
    coverage: list[tuple[str, str]]
    import_ids: list[int]
    generated_at: datetime
    notes: list[str] = field(default_factory=list)


@dataclass
class Figure:
    """A chart: a Vega-Lite specification (from :mod:`qingshan.charts.specs`, data inline) and its caption.

    Renderers draw it server-side (PNG for Word, SVG for PDF); the web console embeds the same spec.
    """

    spec: dict
    caption: str
    width_cm: float = 15.0


Block = Paragraph | Table | Footnote | Provenance | Figure


@dataclass
class Section:
    heading: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 1


@dataclass
class Document:
    title: str
    sections: list[Section] = field(default_factory=list)
    subtitle: str | None = None
    #: generation log: what was left out and why (not rendered into the document)
    log: list[str] = field(default_factory=list)

    def paragraphs(self) -> list[str]:
        return [b.text for s in self.sections for b in s.blocks if isinstance(b, Paragraph)]
