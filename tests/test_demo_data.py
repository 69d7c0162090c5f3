"""The demo's generated data are calibrated to Changzhou's published 2023 figures (seeds 004), and the demo city
adopts Changzhou's 2023 targets through ``based_on`` — checked here through the real adapters and engines."""

from __future__ import annotations

import pytest

from qingshan.evaluate.air import evaluate_period
from qingshan.evaluate.periods import parse_period
from qingshan.evaluate.water import evaluate_water
from qingshan.ingest import import_files
from qingshan.ingest.water_samples import import_water_samples
from qingshan.synth import DEMO_CITY, DEMO_STATIONS, generate_hourly, to_long_csv
from qingshan.synth_water import generate_water, write_workbook
from qingshan.targets.config import TargetConfigError, find_config, load_config


def test_air_year_close_to_changzhou_2023(ws, tmp_path):
    st = DEMO_STATIONS.copy()
    st["is_control"] = st["is_control"].map({True: "Y", False: "N"})
    st.to_csv(tmp_path / "stations.csv", index=False)
    to_long_csv(generate_hourly(DEMO_STATIONS, 2023, seed=2023)).to_csv(tmp_path / "h.csv", index=False)
    import_files(ws, "stations", [tmp_path / "stations.csv"])
    import_files(ws, "long", [tmp_path / "h.csv"])
    city = evaluate_period(ws.con, parse_period("2023"), city=DEMO_CITY).table.query("level == 'city'").iloc[0]
    # published 2023: PM2.5 34, PM10 57, SO2 8, NO2 30 µg/m³, CO-95 1.1 mg/m³, O3-8h-90 175 µg/m³, good 78.1 %
    assert abs(city["pm25_mean"] - 34) <= 2
    assert abs(city["pm10_mean"] - 57) <= 4
    assert abs(city["so2_mean"] - 8) <= 1
    assert abs(city["no2_mean"] - 30) <= 2
    assert abs(city["co_p95"] - 1.1) <= 0.15
    assert abs(city["o3_8h_p90"] - 175) <= 8
    assert abs(city["good_ratio"] - 78.1) <= 3
    assert city["valid_days"] == 365


def test_water_shares_like_the_bulletin(ws, tmp_path):
    path = tmp_path / "w.xlsx"
    n = write_workbook(path, [2023])
    rep = import_water_samples(ws, path)
    assert rep.quarantined == 0 and n == 24 * 12
    groups = evaluate_water(ws.con, parse_period("2023"), "assessment").groups.set_index("考核级别")
    assert groups.loc["国考", "share_good_pct"] == 87.5  # 7 of 8
    assert groups.loc["省考", "share_good_pct"] == 94.1  # 16 of 17 (国考 sections count as 省考 too)
    assert groups.loc["全部", "share_worse_than_v_pct"] == 0


def test_water_generator_stops_at_last_month():
    _, samples = generate_water([2022, 2023], last_month=(2023, 10))
    months = samples["采样日期"].str[:7]
    assert months.max() == "2023-10" and (months == "2022-12").sum() == 24


def test_demo_city_adopts_changzhou_targets():
    demo, cz = find_config(DEMO_CITY, 2023), find_config("常州市", 2023)
    assert demo.city == DEMO_CITY and demo.source != cz.source
    assert [(t.id, t.value, t.comparison) for t in demo.targets] == [(t.id, t.value, t.comparison) for t in cz.targets]
    assert not demo.matches_city("常州")  # the base file's aliases are not inherited


@pytest.mark.parametrize("based_on", ["missing.yaml", "../x.yaml"])
def test_based_on_must_name_a_file_beside_it(tmp_path, based_on):
    p = tmp_path / "t.yaml"
    p.write_text(f"schema: qingshan.targets/1\nbased_on: {based_on}\ncity: 甲市\n", encoding="utf-8")
    with pytest.raises(TargetConfigError, match="based_on"):
        load_config(p)


def test_noise_rain_dust_files_evaluate_near_the_bulletin(tmp_path):
    """The demo's noise/rain/dust files go through the same engines as users' files and land near seeds 004."""
    import pandas as pd

    from qingshan.evaluate.acid_rain import evaluate_rain
    from qingshan.evaluate.dustfall import evaluate_dust
    from qingshan.evaluate.noise import evaluate_regional, evaluate_road
    from qingshan.synth_other import dust_file, noise_files, rain_file

    noise = noise_files(tmp_path, 2023)
    regional, q = evaluate_regional(pd.read_csv(noise["regional"], dtype=str))
    assert not q.lines
    day = regional[(regional["area"] == "全市") & (regional["period"] == "昼间")].iloc[0]
    assert day["points"] == 100 and abs(day["mean_db"] - 53.7) <= 1.0
    road = evaluate_road(pd.read_csv(noise["road"], dtype=str))[0]
    assert abs(road[road["period"] == "昼间"].iloc[0]["mean_db"] - 65.9) <= 1.5
    rain, q = evaluate_rain(pd.read_csv(rain_file(tmp_path, [2023]), dtype=str))
    assert not q.lines
    whole = rain.iloc[0]
    assert 5.6 <= whole["mean_ph"] <= 6.3 and 0 < whole["acid_frequency_pct"] < 20
    dust = evaluate_dust(pd.read_csv(dust_file(tmp_path, [2023], (2023, 10)), dtype=str), 2023)
    assert dust.summary.iloc[0]["annual_mean"] == pytest.approx(2.2, abs=0.2)
