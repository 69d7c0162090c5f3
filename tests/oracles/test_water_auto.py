"""Oracle: the official 水质类别 of the national automatic surface-water stations (CNEMC publication scraped
2020-05 … 2021-04, ../shared/data/cnemc_surface_water_auto_2020-2021), recomputed from the items the stations
publish, on ALL rows.

How the class is recomputed: GB 3838-2002 single-factor class of pH, DO, CODMn, NH3-N and TP (the published items
among the 21 evaluation items; TN is published but does not count, as in 地表水环境质量评价办法), with the lake and
reservoir TP limits at lake/reservoir stations. The data do not say which stations are on lakes or reservoirs: that
one bit per station is recovered from the published classes (``infer_lake_stations``: the TP table that reproduces
more of the station's classes; 117 of 1,913 stations, among them every Taihu, Chaohu, Dianchi, Poyang and Dongting
point). With real section metadata this calibration is not needed.

Results (asserted below):

* Raw JSON snapshots (330 files, 35,946 rows, 23,752 with an official class; values are the unrounded 原始值):
  23,746 agree (99.97 %). The 6 others ("other") are 08:00 snapshot rows — four of them in the 2020-11-04 file —
  whose class contradicts their own published values (e.g. 江苏省/大屈: CODMn 12.52 = Ⅴ, published Ⅲ).
* 2021-04 per-section CSVs (46,183 rows, 42,557 with a class; only the rounded display values exist):
  42,027 agree exactly (98.76 %); 42,241 (99.26 %) agree at the precision published. The 530 differences:
  - display_rounding 214: the official class lies in the range of classes the rounded values allow (TP shown
    0.100 may be 0.1004 → Ⅲ; CODMn shown 4.00 may be 4.004 → Ⅲ);
  - stale_midnight 214: 00:00 rows whose official class equals the class of the same station's previous (20:00)
    values — 00:00 rows are 14 % of the rows but 48 % of the differences, the class is not refreshed at midnight;
  - revision 3: another publication of the same station and time carries values that give the official class;
  - other 99: mostly 20:00 and 04:00 rows, where the CSVs show the same class/value misalignment between
    neighbouring times; not attributable with certainty.
* All rows of both sources: 65,773 of 66,309 agree exactly (99.19 %).
* Without the section types (all stations as rivers) only 94.0 % / 95.0 % agree: the lake TP table matters.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from qingshan.evaluate.water_auto import (
    AUTO_CLASS_ITEMS,
    explain_differences,
    infer_lake_stations,
    official_classes,
    recompute,
)
from qingshan.ingest.water_auto import parse, store_parsed

from ..conftest import SHARED_DATA, need

pytestmark = [pytest.mark.oracle, pytest.mark.slow]  # imports the real national water data: minutes (CI's slow step)

WATER = SHARED_DATA / "cnemc_surface_water_auto_2020-2021"


@pytest.fixture(scope="module")
def data():
    folder = need(WATER)
    json_parsed = [parse(f) for f in sorted((folder / "raw_json").glob("*/*.json.gz"))]
    js = pd.concat([p.all_rows for p in json_parsed], ignore_index=True)
    concat = parse(folder / "water_quality_by_name_2021-04_concat.csv")
    lakes = infer_lake_stations(pd.concat([js, concat.all_rows], ignore_index=True))
    return {"json_parsed": json_parsed, "json": js, "concat": concat.all_rows, "concat_parsed": concat, "lakes": lakes,
            "folder": folder}


def compare(frame, lakes):
    ex = explain_differences(frame, frame["station"].isin(lakes).to_numpy())
    has = ex["official"] > 0
    return ex, int(has.sum()), int((has & (ex["kind"] == "")).sum()), Counter(ex.loc[has & (ex["kind"] != ""), "kind"])


def test_json_decoded_as_published(data):
    js = data["json"]
    assert len(data["json_parsed"]) == 330 and len(js) == 35_946
    assert int((official_classes(js) > 0).sum()) == 23_752
    assert js["status"].value_counts().to_dict() == {"正常": 23_125, "停站": 8_288, "维护": 4_533}
    assert int((js["ph_note"] == "极值过滤").sum()) == 74 and int((js["tp_note"] == "极值过滤").sum()) == 629
    assert int((js["tp_shown"] == "*").sum()) == 5_325  # not measured at the station
    assert js["station"].nunique() == 1_902


def test_flat_table_is_the_same_publication(data):
    """The flat snapshot table (derived from the JSON) decodes to the same rows, values and classes."""
    flat = parse(data["folder"] / "surface_water_snapshots_parsed.csv").all_rows
    js = data["json"]
    assert len(flat) == len(js)
    assert (flat["official_class"].to_numpy() == js["official_class"].to_numpy()).all()
    assert (flat["status"].to_numpy() == js["status"].to_numpy()).all()
    for c in AUTO_CLASS_ITEMS + ("tn", "temp"):
        a, b = flat[c].to_numpy(dtype=float), js[c].to_numpy(dtype=float)
        assert np.allclose(a, b, equal_nan=True, rtol=0, atol=0), c


def test_hand_example_312_bridge(data):
    """PROVENANCE.md: 江苏省 312国道桥 2021-04-01 08:00 — pH 8.50, DO 8.42, CODMn 2.65, NH3-N 0.043, TP 0.055 → Ⅱ."""
    c = data["concat"]
    row = c[(c["station"] == "江苏省/312国道桥") & (c["ts"] == datetime(2021, 4, 1, 8))].iloc[:1]
    res = recompute(row, False)
    assert row["official_class"].item() == "Ⅱ" and res["class"][0] == 2


def test_raw_snapshots_agree(data):
    ex, n, same, kinds = compare(data["json"], data["lakes"])
    assert (n, same) == (23_752, 23_746) and same / n > 0.999
    assert kinds == {"other": 6}
    others = data["json"][(ex["kind"] == "other").to_numpy()]
    assert set(others["time_published"].str[-5:]) == {"08:00"}
    assert int(others["time_published"].str.startswith("11-04").sum()) == 4


def test_per_section_csvs_agree_at_the_published_precision(data):
    ex, n, same, kinds = compare(data["concat"], data["lakes"])
    assert (n, same) == (42_557, 42_027)
    assert kinds == {"display_rounding": 214, "stale_midnight": 214, "revision": 3, "other": 99}
    assert (same + kinds["display_rounding"]) / n >= 0.99
    c = data["concat"]
    hour = c["time_published"].str[-5:]
    has = (official_classes(c) > 0)
    assert (hour[has] == "00:00").mean() < 0.15 and (hour[(ex["kind"] != "").to_numpy()] == "00:00").mean() > 0.45


def test_all_rows_agree(data):
    _, n1, s1, _ = compare(data["json"], data["lakes"])
    _, n2, s2, _ = compare(data["concat"], data["lakes"])
    assert (n1 + n2, s1 + s2) == (66_309, 65_773)
    assert (s1 + s2) / (n1 + n2) >= 0.99


def test_lake_stations_matter(data):
    lakes = data["lakes"]
    assert len(lakes) == 117
    assert {"江苏省/西山", "云南省/观音山", "安徽省/湖滨(老)", "江西省/蛤蟆石", "湖南省/岳阳楼", "江苏省/三场"} <= lakes
    _, n, same, _ = compare(data["json"], set())
    assert round(100 * same / n, 1) == 94.0
    _, n, same, _ = compare(data["concat"], set())
    assert round(100 * same / n, 1) == 95.0


def test_store_import_is_idempotent_and_sources_agree(data, tmp_path_factory):
    from qingshan.store.workspace import Workspace

    with Workspace(tmp_path_factory.mktemp("water-auto")) as ws:
        reports = [store_parsed(ws, p, "water_auto") for p in data["json_parsed"]]
        stored = ws.con.execute("SELECT count(*) FROM water_auto").fetchall()[0][0]
        assert stored == 26_582 and sum(r.new for r in reports) == stored
        flat = store_parsed(ws, parse(data["folder"] / "surface_water_snapshots_parsed.csv"), "water_auto")
        assert (flat.new, flat.updated, flat.unchanged) == (0, 0, 26_582)
        again = store_parsed(ws, parse(data["json_parsed"][-1].source), "water_auto")
        assert (again.new, again.updated) == (0, 0) and again.previous_import is not None
        concat = store_parsed(ws, data["concat_parsed"], "water_auto")
        assert concat.quarantined == 1_202  # 1,001 superseded re-publications + 201 rows with a class but no time
        statuses = {r[0] for r in ws.con.execute("SELECT DISTINCT status FROM water_auto").fetchall()}
        assert statuses == {"正常", "维护", "停站"}  # the status text is stored verbatim
