"""The fixed choices of command options as enums, parsed with one Chinese line on a wrong value.

``choice(Level, "--level")`` gives the ``parser`` and ``metavar`` of a ``typer.Option``: help lists the values,
a wrong value ends the command with ``错误：--level 应为 city | station | district，而不是 'x'`` and exit code 2.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Callable, TypeVar

E = TypeVar("E", bound=Enum)


class Engine(str, Enum):
    embedded = "embedded"
    spark = "spark"


class Level(str, Enum):
    city = "city"
    station = "station"
    district = "district"


class DataKind(str, Enum):
    reviewed = "reviewed"
    raw = "raw"


class RankBy(str, Enum):
    composite_index = "composite_index"
    pm25_mean = "pm25_mean"
    good_ratio = "good_ratio"


class WaterGroup(str, Enum):
    assessment = "assessment"
    basin = "basin"
    district = "district"


class WaterItems(str, Enum):
    gb3838 = "gb3838"
    eval21 = "eval21"


def parser(kind: type[E], flag: str) -> Callable[[Any], E]:
    """A typer ``parser`` turning the text into a member of ``kind`` (exit 2 with a Chinese line otherwise)."""

    def parse(value: Any) -> E:
        if isinstance(value, kind):
            return value
        try:
            return kind(value)
        except ValueError:
            from .errors import fail

            fail(f"{flag} 应为 {' | '.join(m.value for m in kind)}，而不是 {value!r}")

    return parse


def choice(kind: type[Enum], flag: str) -> dict[str, Any]:
    """Keyword arguments of ``typer.Option`` for an enum option: ``typer.Option(..., **choice(Level, "--level"))``."""
    return {"parser": parser(kind, flag), "metavar": "[" + "|".join(m.value for m in kind) + "]"}
