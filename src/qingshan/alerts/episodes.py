"""Rule hits → episodes: the hours of one problem (rule × station × pollutant) merge into one alarm.

Hours merge when they follow each other with at most ``max_gap`` missing hours between them (default 1: one
missing hour does not split an episode — a station that skips an hour during a spike raises one alarm, not two).
Each episode keeps its evidence as numbers: start, end, hours, the highest level, the peak value and hour, the
reference (baseline, neighbour mean …) at the peak, and the hour-by-hour values (at most ``MAX_EVIDENCE_HOURS``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

MAX_EVIDENCE_HOURS = 48
EPISODE_COLUMNS = ["rule", "subject", "pollutant", "start_hi", "end_hi", "hours", "level", "peak_hi", "peak_value",
                   "peak_reference", "evidence"]


def _number(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 3)


def episodes(hits: pd.DataFrame, max_gap: int = 1) -> pd.DataFrame:
    """One row per episode (columns :data:`EPISODE_COLUMNS`); ``evidence`` is a dict of plain numbers."""
    if hits.empty:
        return pd.DataFrame(columns=EPISODE_COLUMNS)
    h = hits.sort_values(["rule", "subject", "pollutant", "hi"], ignore_index=True)
    key = h["rule"] + "\x00" + h["subject"].astype(str) + "\x00" + h["pollutant"]
    new = (key != key.shift()) | (h["hi"] - h["hi"].shift() > max_gap + 1)
    h["episode"] = new.cumsum()
    rows: list[dict[str, Any]] = []
    for _, g in h.groupby("episode", sort=True):
        values = g["value"].to_numpy(dtype=float)
        peak = int(np.nanargmax(values)) if np.isfinite(values).any() else 0
        first = g.iloc[0]
        rows.append({
            "rule": first["rule"], "subject": first["subject"], "pollutant": first["pollutant"],
            "start_hi": int(g["hi"].iloc[0]), "end_hi": int(g["hi"].iloc[-1]), "hours": len(g),
            "level": int(g["level"].max()), "peak_hi": int(g["hi"].iloc[peak]),
            "peak_value": _number(values[peak]), "peak_reference": _number(g["reference"].iloc[peak]),
            "evidence": {"hours": [[int(t), _number(v), _number(r)] for t, v, r in
                                   zip(g["hi"].iloc[-MAX_EVIDENCE_HOURS:], g["value"].iloc[-MAX_EVIDENCE_HOURS:],
                                       g["reference"].iloc[-MAX_EVIDENCE_HOURS:])]},
        })
    return pd.DataFrame(rows, columns=EPISODE_COLUMNS)
