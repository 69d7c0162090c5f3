"""A small generated year (the demo city: 16 stations, districts, towns, a control site) in a fresh workspace, and
its annual evaluation as exact CSV text — shared by the tests of the vectorised and the incremental engine."""

from __future__ import annotations

from pathlib import Path

from qingshan.evaluate.air import evaluate_period
from qingshan.evaluate.periods import parse_period
from qingshan.ingest import import_files
from qingshan.synth import DEMO_STATIONS, generate_hourly, to_long_csv

GOLDEN = Path(__file__).parent / "golden" / "air_annual_demo_2023.csv"
LEVELS = ("station", "city", "district", "town")


def build_demo_year(ws, folder: Path, year: int = 2023) -> None:
    """The demo year through the documented import path (stations CSV + long CSV)."""
    st = DEMO_STATIONS.copy()
    st["is_control"] = st["is_control"].map({True: "Y", False: "N"})
    st.to_csv(folder / "stations.csv", index=False)
    to_long_csv(generate_hourly(DEMO_STATIONS, year, seed=year)).to_csv(folder / "hourly.csv", index=False)
    import_files(ws, "stations", [folder / "stations.csv"])
    import_files(ws, "long", [folder / "hourly.csv"])


def annual_csv(con, period: str = "2023", **kw) -> str:
    """The annual HJ 663 table of every level as CSV text, rows in (level, code) order; floats are written with
    ``repr`` precision, so equal text means equal values."""
    table = evaluate_period(con, parse_period(period), levels=LEVELS, **kw).table
    return table.sort_values(["level", "code"], kind="stable").to_csv(index=False)
