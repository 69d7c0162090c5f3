"""Minute → hour aggregation (qingshan.evaluate.minutes, GB 3095 表4's 45-minute rule): hand-checked vectors,
errors, and a property test that the input order does not matter."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.errors import QingshanError
from qingshan.evaluate.minutes import MinuteDataError, aggregate_minutes
from qingshan.standards.air_validity import (
    MINUTE_RULES,
    MinuteRuleError,
    get_minute_rule,
    hour_of_minute,
)

T0 = datetime(2024, 3, 1, 9, 0)  # minutes below are offsets from 09:00 Beijing time
HI_10 = int((datetime(2024, 3, 1, 10, 0) - datetime(1970, 1, 1)) / timedelta(hours=1))  # hour ending 10:00


def frame(rows: list[tuple]) -> pd.DataFrame:
    """rows of (device, minute offset from 09:00, so2[, so2_flag])."""
    out = pd.DataFrame({"device": [r[0] for r in rows], "ts": [T0 + timedelta(minutes=r[1]) for r in rows],
                        "so2": [float(r[2]) for r in rows]})
    if any(len(r) > 3 for r in rows):
        out["so2_flag"] = [r[3] if len(r) > 3 else None for r in rows]
    return out


def hours(table: pa.Table) -> dict[tuple[str, int], dict]:
    return {(r["device"], r["hi"]): r for r in table.to_pylist()}


def assert_same(a: pa.Table, b: pa.Table) -> None:
    """Same schema, rows and values; floats bit-for-bit equal (NaN = NaN)."""
    assert a.schema == b.schema and a.num_rows == b.num_rows
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if pa.types.is_floating(x.type):
            assert np.array_equal(x.to_numpy(), y.to_numpy(), equal_nan=True), name
        else:
            assert x.to_pylist() == y.to_pylist(), name


def test_hour_labels_end_of_interval():
    # minute labelled 10:00 closes the hour ending 10:00; 10:01 opens the hour ending 11:00
    m10 = HI_10 * 60
    assert hour_of_minute(np.array([m10 - 59, m10, m10 + 1])).tolist() == [HI_10, HI_10, HI_10 + 1]


def test_44_minutes_invalid_45_valid():
    # hour ending 10:00: minutes 09:01 … 09:44 (44); hour ending 11:00: 10:01 … 10:45 (45) with values 1 … 45
    rows = [("A", m, 10) for m in range(1, 45)] + [("A", 60 + m, m) for m in range(1, 46)]
    h = hours(aggregate_minutes(frame(rows)))
    assert h[("A", HI_10)]["so2_minutes"] == 44 and math.isnan(h[("A", HI_10)]["so2"])
    assert h[("A", HI_10 + 1)]["so2_minutes"] == 45 and h[("A", HI_10 + 1)]["so2"] == 23.0  # (1+…+45)/45
    assert h[("A", HI_10)]["rule"] == "gb3095-45min"
    assert h[("A", HI_10 + 1)]["ts"] == datetime(2024, 3, 1, 11, 0)


def test_hour_boundary_minute_60_belongs_to_the_hour_it_ends():
    # 45 minutes 09:16 … 10:00 form the hour ending 10:00; a value at 10:00 must count there, not in the next hour
    rows = [("A", m, 20) for m in range(16, 60)] + [("A", 60, 65), ("A", 61, 7)]
    h = hours(aggregate_minutes(frame(rows)))
    assert h[("A", HI_10)]["so2_minutes"] == 45
    assert h[("A", HI_10)]["so2"] == pytest.approx((44 * 20 + 65) / 45)
    assert h[("A", HI_10 + 1)]["so2_minutes"] == 1 and math.isnan(h[("A", HI_10 + 1)]["so2"])
    assert h[("A", HI_10)]["ts"] == datetime(2024, 3, 1, 10, 0)


def test_duplicate_minute_counted_once_last_wins():
    rows = [("A", m, 10) for m in range(1, 46)] + [("A", 5, 100)]  # 09:05 sent again with 100
    h = hours(aggregate_minutes(frame(rows)))[("A", HI_10)]
    assert h["so2_minutes"] == 45
    assert h["so2"] == pytest.approx((44 * 10 + 100) / 45)
    # with an arrival sequence the highest seq wins, whatever the row order
    df = frame(rows)
    df["seq"] = np.arange(len(df))[::-1]  # the first 09:05 row (10) is now the later arrival
    assert hours(aggregate_minutes(df))[("A", HI_10)]["so2"] == 10.0


def test_flagged_minutes_not_counted():
    # 46 minutes, one flagged M (maintenance) with a large value: 45 valid, the flagged value left out
    rows = [("A", m, 10, "N") for m in range(1, 46)] + [("A", 46, 999, "M")]
    h = hours(aggregate_minutes(frame(rows)))[("A", HI_10)]
    assert h["so2_minutes"] == 45 and h["so2"] == 10.0
    # 45 minutes of which one is flagged D (fault): 44 valid → no hourly value; a missing flag counts as N
    rows = [("A", m, 10, None) for m in range(1, 45)] + [("A", 45, 10, "D")]
    h = hours(aggregate_minutes(frame(rows)))[("A", HI_10)]
    assert h["so2_minutes"] == 44 and math.isnan(h["so2"])


def test_nan_and_inf_ignored():
    rows = [("A", m, 10) for m in range(1, 46)] + [("A", 46, math.nan), ("A", 47, math.inf), ("A", 48, -math.inf)]
    h = hours(aggregate_minutes(frame(rows)))[("A", HI_10)]
    assert h["so2_minutes"] == 45 and h["so2"] == 10.0
    rows = [("A", m, 10) for m in range(1, 45)] + [("A", 45, math.inf)]
    h = hours(aggregate_minutes(frame(rows)))[("A", HI_10)]
    assert h["so2_minutes"] == 44 and math.isnan(h["so2"])


def test_two_devices_interleaved_and_shuffled():
    rows = [r for m in range(1, 61) for r in (("B", m, 2 * m), ("A", m, 1))]
    rows += [("A", 60 + m, 3) for m in range(1, 11)]  # A: 10 minutes in the next hour
    df = frame(rows).sample(frac=1.0, random_state=7).reset_index(drop=True)
    t = aggregate_minutes(df)
    assert [(r["device"], r["hi"]) for r in t.to_pylist()] == [("A", HI_10), ("A", HI_10 + 1), ("B", HI_10)]
    h = hours(t)
    assert h[("A", HI_10)]["so2"] == 1.0 and h[("A", HI_10)]["so2_minutes"] == 60
    assert h[("B", HI_10)]["so2"] == 61.0 and h[("B", HI_10)]["so2_minutes"] == 60  # mean of 2, 4, …, 120
    assert h[("A", HI_10 + 1)]["so2_minutes"] == 10 and math.isnan(h[("A", HI_10 + 1)]["so2"])


def test_pm_rule_sets():
    df = pd.DataFrame({"device": "A", "ts": [T0 + timedelta(minutes=m) for m in range(1, 11)],
                       "pm25": 30.0, "o3": 50.0})
    h = hours(aggregate_minutes(df))[("A", HI_10)]
    assert math.isnan(h["pm25"]) and math.isnan(h["o3"])  # default: 45 minutes for PM too
    h = hours(aggregate_minutes(df, rule="gb3095-45min-gases"))[("A", HI_10)]
    assert h["pm25"] == 30.0 and math.isnan(h["o3"])  # literal 表4: no PM minimum, gases still 45
    assert h["rule"] == "gb3095-45min-gases" and h["pm25_minutes"] == 10
    assert set(MINUTE_RULES) == {"gb3095-45min", "gb3095-45min-gases"}


def test_time_zone_aware_timestamps_are_converted_to_beijing():
    naive = frame([("A", m, 10) for m in range(1, 46)])
    aware = naive.assign(ts=naive["ts"].dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC"))
    assert_same(aggregate_minutes(aware), aggregate_minutes(naive))


def test_bad_input_clear_errors():
    good = frame([("A", 1, 10)])
    cases = [
        (good.drop(columns="ts"), "缺少列 ts"),
        (good.drop(columns="so2"), "没有污染物列"),
        (good.assign(ts=good["ts"] + timedelta(seconds=30)), "不是整分钟"),
        (good.assign(so2="x"), "应为数值"),
        (good.assign(ts="2024-03-01 09:01"), "应为时间戳"),
        (good.assign(device=[None]), "空值"),
        (good.assign(seq=[None]), "seq 列有 1 个空值"),
        (good.assign(seq=[1.5]), "seq 列应为整数"),
    ]
    for df, text in cases:
        with pytest.raises(MinuteDataError, match=text) as e:
            aggregate_minutes(df)
        assert isinstance(e.value, QingshanError) and isinstance(e.value, ValueError)
    with pytest.raises(MinuteRuleError, match="未知的分钟数据规则集"):
        get_minute_rule("gb3095-30min")
    assert aggregate_minutes(good.iloc[:0]).num_rows == 0


def test_decimal_and_integer_values_accepted():
    import decimal

    rows = frame([("A", m, 10) for m in range(1, 46)])
    t = pa.Table.from_pandas(rows, preserve_index=False)
    as_dec = t.set_column(2, "so2", pa.array([decimal.Decimal("10.5")] * 45, pa.decimal128(6, 1)))
    assert hours(aggregate_minutes(as_dec))[("A", HI_10)]["so2"] == 10.5
    as_int = t.set_column(2, "so2", pa.array([10] * 45, pa.int16()))
    assert hours(aggregate_minutes(as_int))[("A", HI_10)]["so2"] == 10.0


minute_rows = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 240),
              st.one_of(st.integers(0, 500).map(lambda v: v / 10), st.just(math.nan), st.just(math.inf)),
              st.sampled_from(["N", "N", "N", None, "M"])),
    min_size=1, max_size=400,
)


@settings(max_examples=60, deadline=None)
@given(minute_rows, st.randoms(use_true_random=False), st.sampled_from(sorted(MINUTE_RULES)))
def test_shuffling_does_not_change_the_output(rows, rnd, rule):
    df = frame(rows)
    df["seq"] = np.arange(len(df))
    df["pm25"] = df["so2"] * 2
    expected = aggregate_minutes(df, rule)
    perm = list(range(len(df)))
    rnd.shuffle(perm)
    assert_same(aggregate_minutes(df.iloc[perm].reset_index(drop=True), rule), expected)
    # and the result is the plain definition: last row of each device-minute, finite and flag N (or none)
    last: dict[tuple[str, int], tuple] = {}
    for dev, m, v, flag in rows:
        last[(dev, m)] = (v, flag)
    got = hours(expected)
    need = get_minute_rule(rule).minimum("so2")
    by_hour: dict[tuple[str, int], list[float]] = {}
    for (dev, m), (v, flag) in last.items():
        key = (dev, HI_10 - 1 + -(-m // 60))
        by_hour.setdefault(key, [])
        if math.isfinite(v) and flag in ("N", None):
            by_hour[key].append(v)
    assert set(got) == set(by_hour)
    for key, vals in by_hour.items():
        assert got[key]["so2_minutes"] == len(vals)
        if len(vals) >= need:
            assert got[key]["so2"] == pytest.approx(sum(vals) / len(vals), rel=1e-12)
        else:
            assert math.isnan(got[key]["so2"])
