"""The judgement of the cause note: a score per cause from the fingerprint, the neighbours, the wind and the
candidate sources (pure functions; the rules and their weights are documented in docs/alerts.md "Judgement").

Scores are between 0 and 1 and are *plausibility ranks*, not probabilities. A cause whose fingerprint explains a
rise across the whole region (dust, fireworks, stagnation) outranks "regional transport", which is what is left
when the region rises with moderate wind and no specific fingerprint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..standards.pollutants import POLLUTANTS
from .fingerprint import COARSE_RATIO, FINE_RATIO, PARTLY_COARSE_RATIO, Fingerprint
from .neighbours import Spatial
from .sources import Candidate
from .wind import WindSummary

CAUSES: dict[str, str] = {
    "regional": "区域传输",
    "dust": "扬尘（沙尘、施工或道路扬尘）",
    "traffic": "机动车排放",
    "industry": "工业源排放（上风向污染源）",
    "fireworks": "烟花爆竹燃放",
    "instrument": "仪器故障或数据异常",
    "stagnation": "静稳天气累积",
    "photochemical": "光化学生成（臭氧）",
    "local": "本地源（未能识别类型）",
}
#: rush hours (hour-ending labels, local time): 07–09 and 17–20
RUSH_HOURS = frozenset({7, 8, 9, 10, 17, 18, 19, 20})
#: daytime hours for photochemistry
SUNLIT_HOURS = frozenset(range(11, 20))


@dataclass(frozen=True)
class Score:
    cause: str
    score: float
    reasons: tuple[str, ...]

    @property
    def name(self) -> str:
        return CAUSES[self.cause]


def _f(x: float, digits: int = 1) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def instrument(fp: Fingerprint, sp: Spatial) -> Score:
    reasons, s = [], 0.0
    for p, n in fp.stuck.items():
        s = max(s, 0.95)
        reasons.append(f"{POLLUTANTS[p].short_zh} 连续 {n} 小时数值完全相同（{_f(fp.values[p], 3)}）")
    for p, f in fp.step.items():
        s = max(s, 0.9)
        reasons.append(f"{POLLUTANTS[p].short_zh} 一小时内阶跃 {f:.1f} 倍后数值平直")
    if fp.pm25_over_pm10:
        s = max(s, 0.8)
        reasons.append(f"PM2.5（{_f(fp.values['pm25'], 0)}）高于 PM10（{_f(fp.values['pm10'], 0)}）超过 10%")
    if fp.step and not fp.stuck and not fp.pm25_over_pm10 and sp.scope == "regional":
        s *= 0.6  # the neighbours moved too: a real level change is as likely as one instrument's step
    return Score("instrument", s, tuple(reasons))


def fireworks(fp: Fingerprint, festival: str | None, night: bool) -> Score:
    if not festival or not night:
        return Score("fireworks", 0.0, ())
    pm, so2, co = fp.rose("pm25", 1.5), fp.rose("so2", 1.3), fp.rose("co", 1.2)
    if pm and so2:
        s = 0.85 + (0.1 if co else 0.0)
        return Score("fireworks", s, (f"{festival}夜间 PM2.5（×{_f(fp.up['pm25'])}）、SO2（×{_f(fp.up['so2'])}）"
                                      + (f"、CO（×{_f(fp.up['co'])}）" if co else "") + " 同时跃升",))
    # the night goes on: hours after the first salvoes are judged against the usual level of the hour
    if fp.elevated("pm25", 2.0) and fp.elevated("so2", 1.5):
        return Score("fireworks", 0.8, (f"{festival}夜间 PM2.5、SO2 分别为 30 日同时段中位数的 {_f(fp.anomaly('pm25'))}、"
                                        f"{_f(fp.anomaly('so2'))} 倍（燃放持续）",))
    return Score("fireworks", 0.15 if pm else 0.0, (f"{festival}夜间，但 PM2.5 与 SO2 未同时升高",) if pm else ())


def dust(fp: Fingerprint, wind: WindSummary | None, cands: list[Candidate]) -> Score:
    r = fp.pm_ratio
    fresh = fp.rose("pm10", 1.5)
    if not (fresh or fp.elevated("pm10", 1.5)) or math.isnan(r) or r >= PARTLY_COARSE_RATIO:
        return Score("dust", 0.0, ())
    how = f"上升 ×{_f(fp.up['pm10'])}" if fresh else f"为 30 日同时段中位数的 {_f(fp.anomaly('pm10'))} 倍（持续中）"
    reasons = [f"PM2.5/PM10 = {r:.2f}（粗颗粒为主），PM10 {how}"]
    s = 0.65 if r < COARSE_RATIO else 0.4
    if wind is not None and wind.speed_3h >= 3:
        s += 0.1
        reasons.append(f"风速 {wind.speed_3h:.1f} m/s（起尘风速）")
    dusty = [c for c in cands if c.kind in ("dust", "grid") and c.factor == "pm10"]
    if dusty:
        s += 0.2
        reasons.append(f"上风向扬尘监测点 {dusty[0].name} PM10 上升 ×{_f(dusty[0].rise)}")
    return Score("dust", min(s, 0.97), tuple(reasons))


def industry(fp: Fingerprint, cands: list[Candidate]) -> Score:
    outlets = [c for c in cands if c.kind == "outlet"]
    so2 = fp.rose("so2", 1.5)
    if not so2 and not outlets:
        return Score("industry", 0.0, ())
    reasons, s = [], 0.0
    if so2:
        s = 0.45
        reasons.append(f"SO2 上升 ×{_f(fp.up['so2'])}（燃煤、工业特征）")
    if outlets:
        o = outlets[0]
        s += 0.45 if so2 or fp.rose("pm25", 1.5) or fp.rose("no2", 1.5) else 0.2
        what = f"超过排放限值 {o.exceed:.1f} 倍" if o.exceed and o.exceed > 1 else f"上升 ×{_f(o.rise)}"
        reasons.append(f"上风向 {o.distance_km:.1f} km 的排口 {o.name} {o.factor_zh}{what}")
    return Score("industry", min(s, 0.95), tuple(reasons))


def traffic(fp: Fingerprint, hour: int, sp: Spatial) -> Score:
    if not (fp.rose("co", 1.3) and fp.rose("no2", 1.3)):
        return Score("traffic", 0.0, ())
    reasons = [f"CO（×{_f(fp.up['co'])}）与 NO2（×{_f(fp.up['no2'])}）同时上升（机动车、燃烧特征）"]
    s = 0.5
    if hour in RUSH_HOURS:
        s += 0.2
        reasons.append(f"{hour} 时为交通高峰")
    if sp.scope == "local":
        s += 0.1
    if fp.rose("so2", 1.5):
        s -= 0.2  # SO2 points to coal or industry rather than vehicles
    return Score("traffic", s, tuple(reasons))


def stagnation(fp: Fingerprint, wind: WindSummary | None, sp: Spatial) -> Score:
    # accumulation is slow: judged against the usual level of the hour, not against the hours just before
    if wind is None or not wind.calm or not fp.anomaly("pm25") >= 1.3:
        return Score("stagnation", 0.0, ())
    reasons = [f"近 6 小时平均风速 {wind.speed_6h:.1f} m/s（静风），PM2.5 为 30 日同时段中位数的 {fp.anomaly('pm25'):.1f} 倍"]
    s = 0.4
    if wind.stagnant:
        s += 0.25
        reasons.append(f"相对湿度 {wind.rh_6h:.0f}%（高湿，利于二次生成与吸湿增长）")
    if fp.gradual:
        s += 0.15
        reasons.append("PM2.5 近 12 小时缓慢累积、无突变")
    if sp.scope == "regional":
        s += 0.05
    return Score("stagnation", s, tuple(reasons))


def regional(fp: Fingerprint, wind: WindSummary | None, sp: Spatial, festival_night: bool) -> Score:
    if sp.scope != "regional":
        return Score("regional", 0.0, ())
    reasons = [f"{sp.far} 个邻近站点中 {sp.share_rising:.0%} 同步上升，全市均值上升 {_f(sp.city_rise)}"]
    s = 0.6
    if not math.isnan(sp.lead_upwind) and sp.lead_upwind > 0:
        s += 0.15
        reasons.append(f"上风向站点先于本站上升（提前 1–2 小时多升 {sp.lead_upwind:.0f}）")
    if not math.isnan(fp.pm_ratio) and fp.pm_ratio >= FINE_RATIO:
        s += 0.05
        reasons.append(f"PM2.5/PM10 = {fp.pm_ratio:.2f}（细颗粒为主，二次或外来）")
    if wind is not None and wind.calm:
        s *= 0.5  # calm air transports nothing: stagnation is the better reading
    if not math.isnan(fp.pm_ratio) and fp.pm_ratio < PARTLY_COARSE_RATIO:
        s *= 0.5  # a coarse region-wide rise is dust
    if festival_night and fp.rose("so2", 1.3):
        s *= 0.5
    return Score("regional", s, tuple(reasons))


def photochemical(fp: Fingerprint, hour: int) -> Score:
    if not fp.rose("o3", 1.3) or hour not in SUNLIT_HOURS:
        return Score("photochemical", 0.0, ())
    no2_down = fp.values["no2"] < fp.before["no2"]
    s = 0.6 + (0.2 if no2_down else 0.0)
    return Score("photochemical", s, (f"白天 O3 上升 ×{_f(fp.up['o3'])}" + ("，NO2 同时下降（光化学消耗）" if no2_down else ""),))


def local(fp: Fingerprint, sp: Spatial) -> Score:
    if sp.scope != "local" or fp.primary is None:
        return Score("local", 0.0, ())
    name = POLLUTANTS[fp.primary].short_zh
    return Score("local", 0.3, (f"本站 {name} 上升 ×{_f(fp.up[fp.primary])}，邻近站点未同步",))


def judge(fp: Fingerprint, sp: Spatial, wind: WindSummary | None, cands: list[Candidate], hour: int,
          festival: str | None) -> list[Score]:
    """Every cause with a score above zero, strongest first."""
    night = festival is not None
    scores = [instrument(fp, sp), fireworks(fp, festival, night), dust(fp, wind, cands), industry(fp, cands),
              traffic(fp, hour, sp), stagnation(fp, wind, sp), regional(fp, wind, sp, night),
              photochemical(fp, hour), local(fp, sp)]
    return sorted((s for s in scores if s.score > 0), key=lambda s: -s.score)


def confidence(ranked: list[Score], missing: list[str]) -> tuple[str, str]:
    """(高/中/低, why): high when the first cause is strong and well ahead of the second."""
    if not ranked:
        return "低", "未见明显异常上升或无法识别原因"
    top, second = ranked[0].score, ranked[1].score if len(ranked) > 1 else 0.0
    level = 2 if top >= 0.75 and top - second >= 0.2 else 1 if top >= 0.5 else 0
    why = f"首位原因得分 {top:.2f}，领先第二位 {top - second:.2f}"
    if missing:
        level = max(0, level - 1)
        why += "；缺少" + "、".join(missing)
    return ("低", "中", "高")[level], why
