"""The two highlights of the ranking tables and charts (the convention of Changzhou's monthly ranking bulletin):
yellow = worse than the city average of the same period, red = worse than the same period of the previous year.

Defined here, below the reports and the web console, so that charts, reports and pages share them without the
charts importing a report module. Which values get which highlight is decided by
:func:`qingshan.evaluate.ranking.ranking_rows`.
"""

from __future__ import annotations

from typing import Literal

Highlight = Literal["yellow", "red"]

#: cell fill colours (RGB hex)
HIGHLIGHT_FILL: dict[str, str] = {"yellow": "FFFF00", "red": "FF0000"}
#: what each colour means, for legends and notes
HIGHLIGHT_MEANING: dict[str, str] = {"yellow": "劣于全市平均水平", "red": "较上年同期变差"}
