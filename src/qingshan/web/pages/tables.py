"""The "worst N" rows of the console's tables: which rows a page marks (class ``worst`` and the text 最差前N, not
colour alone; ``tables.js`` keeps the mark with its row when the table is sorted)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...numbers import finite

#: N per table context: the 5 worst stations (or towns) of the city, the 3 worst of its districts
WORST_N: dict[str, int] = {"stations": 5, "station": 5, "town": 5, "district": 3, "city": 0}


def worst_codes(rows: Iterable[Mapping[str, Any]], key: str, n: int, *, higher_is_worse: bool = True,
                valid: str | None = None) -> set[str]:
    """Codes of the ``n`` rows with the worst ``key`` (missing values and rows whose ``valid`` flag is false never
    count; ties at the cut keep the earlier row)."""
    if n <= 0:
        return set()
    scored = [(finite(r.get(key)), i, str(r["code"])) for i, r in enumerate(rows)
              if finite(r.get(key)) is not None and (valid is None or r.get(valid))]
    scored.sort(key=lambda t: (-t[0] if higher_is_worse else t[0], t[1]))  # type: ignore[operator]
    return {code for _, _, code in scored[:n]}


def worst_by_rank(rows: Iterable[Mapping[str, Any]], n: int) -> set[str]:
    """Codes of the ``n`` last-ranked rows of a ranking (rank 1 is the best)."""
    ranked = sorted((r for r in rows if r.get("rank") is not None), key=lambda r: -int(r["rank"]))
    return {str(r["code"]) for r in ranked[:n]} if n > 0 else set()
