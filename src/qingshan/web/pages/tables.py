"""The "worst N" rows of the console's tables: which rows a page marks (class ``worst`` and the text 最差前N, not
colour alone; ``tables.js`` keeps the mark with its row when the table is sorted)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...numbers import finite

#: N per table context: the 5 worst stations (or towns) of the city, the 3 worst of its districts — never more
#: than half of the rows that compete (of 8 stations the worst 4: "worst" must stay a minority)
WORST_N: dict[str, int] = {"stations": 5, "station": 5, "town": 5, "district": 3, "city": 0}


def _cut(n: int, competing: int) -> int:
    return max(0, min(n, competing // 2))


def worst_codes(rows: Iterable[Mapping[str, Any]], key: str, n: int, *, higher_is_worse: bool = True,
                valid: str | None = None) -> list[str]:
    """Codes of the worst ``n`` rows by ``key``, worst first (missing values, rows whose ``valid`` flag is false and
    control sites never compete; ties at the cut keep the earlier row; at most half of the competing rows)."""
    scored = [(finite(r.get(key)), i, str(r["code"])) for i, r in enumerate(rows)
              if finite(r.get(key)) is not None and (valid is None or r.get(valid)) and not r.get("is_control")]
    scored.sort(key=lambda t: (-t[0] if higher_is_worse else t[0], t[1]))  # type: ignore[operator]
    return [code for _, _, code in scored[:_cut(n, len(scored))]]


def worst_by_rank(rows: Iterable[Mapping[str, Any]], n: int) -> list[str]:
    """Codes of the last-ranked ``n`` rows of a ranking, worst first (rank 1 is the best; at most half of the
    ranked rows)."""
    ranked = sorted((r for r in rows if r.get("rank") is not None), key=lambda r: -int(r["rank"]))
    return [str(r["code"]) for r in ranked[:_cut(n, len(ranked))]]
