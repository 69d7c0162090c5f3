"""Monitoring rules run on arrival of HJ 212 data (issue 7 §3): each rule turns data into alerts with evidence.

Rules (thresholds in :class:`RuleConfig`, limits and intervals from the device registry):

* ``exceed`` 超标 — a value above the outlet's permitted limit.  The converted value (``-ZsAvg``, ``-ZsRtd`` for
  CN 2011; 表4 折算值) is used where the device sends one, else ``-Avg`` / ``-Rtd``.  Limits apply to the CNs listed
  for the device (default hourly 2061 and daily 2031).  Values flagged F/M/C/D/B (表8: stopped, maintenance,
  calibration, fault, communication fault) are not judged; N, S and T (over range) are.
* ``silent`` 停报 — a registered device with an expected interval has sent no data packet for longer than
  ``silence_factor`` × interval (at least ``silence_min_s``).  Raised once per silence.
* ``flat`` 恒值 — the same measured value (``-Avg``/``-Rtd``, flag N or none) ``flat_run[CN]`` times in a row for one
  device, CN and factor.  Raised once per run.
* ``flags`` 异常标记 — among the last ``flag_window`` values of a device, CN and factor, at least ``flag_threshold``
  carry a flag other than N.  Raised when the count reaches the threshold; re-armed when the window is clean.
* ``missing`` 缺测 — a data packet lacks a factor the registry expects from the device.  Raised once until the
  factor is reported again.

State for ``flat``/``flags``/``missing``/``silent`` is kept in memory by the single loader thread; after a restart a
run or window starts again from the next packet (documented limitation).  Alert keys are deterministic, so reloading
the same packets never duplicates an alert.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from .config import RuleConfig
from .devices import Device
from .factors import name_of, unit_of

CN_NAMES = {"2011": "实时数据", "2051": "分钟数据", "2061": "小时数据", "2031": "日数据"}
FLAG_NAMES = {"N": "正常", "F": "停运", "M": "维护", "S": "手工输入", "D": "故障", "C": "校准", "T": "超测定上限",
              "B": "通讯异常"}
KIND_NAMES = {"exceed": "超标", "silent": "停报", "flat": "恒值", "flags": "异常标记", "missing": "缺测"}


@dataclass
class Alert:
    key: str
    kind: str
    mn: str
    message: str
    evidence: dict
    cn: str | None = None
    factor: str | None = None
    data_time: datetime | None = None
    value: float | None = None
    threshold: float | None = None
    packet_key: int | None = None


# One value seen by the rules: factor, measured value, converted-or-measured value, its field name, flag.
Obs = tuple[str, float | None, float | None, str, str | None]


class _Arrival(NamedTuple):
    """The packet whose values the rules look at (what every alert cites)."""

    packet_key: int
    mn: str
    cn: str
    qn: str | None
    data_time: datetime
    dt_text: str
    raw: str
    device: Device | None
    label: str
    cn_name: str


class RuleEngine:
    def __init__(self, device: Callable[[str], Device | None], config: RuleConfig | None = None) -> None:
        self.device = device
        self.config = config or RuleConfig()
        self._flat: dict[tuple[str, str, str], list] = {}
        self._flags: dict[tuple[str, str, str], list] = {}
        self._missing: set[tuple[str, str]] = set()
        self._silent: set[str] = set()

    # -- per packet -------------------------------------------------------------------------------------------

    def observe(self, packet_key: int, mn: str, cn: str, qn: str | None, data_time: datetime,
                dt_text: str, obs: list[Obs], raw: str) -> list[Alert]:
        """Evaluate the rules on the values of one newly stored data packet: per value exceedance, flat line and
        flag window; per packet the expected factors."""
        dev = self.device(mn)
        self._silent.discard(mn)
        at = _Arrival(packet_key, mn, cn, qn, data_time, dt_text, raw, dev, dev.label() if dev is not None else mn,
                      CN_NAMES.get(cn, f"CN {cn}"))
        limits = dev.limits if dev is not None and cn in dev.limit_cns else None
        run_len = self.config.flat_run.get(cn, 0)
        alerts: list[Alert] = []
        for o in obs:
            for a in (self._exceed(at, o, limits), self._flat_line(at, o, run_len), self._flag_window(at, o)):
                if a is not None:
                    alerts.append(a)
        alerts.extend(self._missing_factors(at, obs))
        return alerts

    def _exceed(self, at: _Arrival, o: Obs, limits: Mapping[str, float] | None) -> Alert | None:
        """超标: the judged value (converted where sent) above the device's limit, unless flagged F/M/C/D/B."""
        factor, _, judged, judged_field, flag = o
        if not limits or judged is None:
            return None
        lim = limits.get(factor)
        if lim is None or not judged > lim or (flag is not None and flag in self.config.exceed_skip_flags):
            return None
        unit = unit_of(factor)
        return Alert(
            key=f"exceed|{at.packet_key}|{factor}", kind="exceed", mn=at.mn, cn=at.cn, factor=factor,
            data_time=at.data_time, value=judged, threshold=lim, packet_key=at.packet_key,
            message=(f"{at.label}：{name_of(factor)}（{factor}）{at.cn_name} {judged_field} = {judged:g}{unit}，"
                     f"超过限值 {lim:g}{unit}（数据时间 {at.data_time:%Y-%m-%d %H:%M}）"),
            evidence={"MN": at.mn, "QN": at.qn, "CN": at.cn, "DataTime": at.dt_text, "factor": factor,
                      "field": judged_field, "value": judged, "limit": lim, "flag": flag,
                      "ratio": round(judged / lim, 4) if lim else None, "packet": at.raw},
        )

    def _flat_line(self, at: _Arrival, o: Obs, run_len: int) -> Alert | None:
        """恒值: the same measured value (flag N or none) ``run_len`` times in a row; once per run."""
        factor, measured, _, _, flag = o
        key = (at.mn, at.cn, factor)
        if not (run_len > 1 and measured is not None and (flag is None or flag == "N")):
            if flag is not None and flag != "N":
                self._flat.pop(key, None)
            return None
        st = self._flat.get(key)  # [value, run length, first DataTime, alerted]
        if st is None or st[0] != measured:
            self._flat[key] = [measured, 1, at.dt_text, False]
            return None
        st[1] += 1
        if st[1] < run_len or st[3]:
            return None
        st[3] = True
        return Alert(
            key=f"flat|{at.mn}|{at.cn}|{factor}|{st[2]}", kind="flat", mn=at.mn, cn=at.cn, factor=factor,
            data_time=at.data_time, value=measured, threshold=float(run_len), packet_key=at.packet_key,
            message=(f"{at.label}：{name_of(factor)}（{factor}）{at.cn_name}连续 {st[1]} 个数据恒为 "
                     f"{measured:g}（自 {st[2]} 起）"),
            evidence={"MN": at.mn, "CN": at.cn, "factor": factor, "value": measured, "run": st[1],
                      "first_DataTime": st[2], "last_DataTime": at.dt_text, "packet": at.raw},
        )

    def _flag_window(self, at: _Arrival, o: Obs) -> Alert | None:
        """异常标记: ``flag_threshold`` non-N flags among the last ``flag_window`` values; re-armed when clean."""
        factor, _, _, _, flag = o
        if flag is None:
            return None
        cfg = self.config
        key = (at.mn, at.cn, factor)
        w = self._flags.get(key)  # [deque of (flag, DataTime), non-N count, alerted]
        if w is None:
            if flag == "N":
                return None  # nothing to remember until a non-N flag shows up
            w = self._flags[key] = [deque(maxlen=cfg.flag_window), 0, False]
        win = w[0]
        if len(win) == win.maxlen and win[0][0] != "N":
            w[1] -= 1
        win.append((flag, at.dt_text))
        if flag != "N":
            w[1] += 1
        bad = w[1]
        if bad < cfg.flag_threshold or w[2]:
            if bad == 0:
                del self._flags[key]  # clean window: forget it (re-armed)
            return None
        w[2] = True
        counts: dict[str, int] = {}
        for f, _ in win:
            if f != "N":
                counts[f] = counts.get(f, 0) + 1
        desc = "、".join(f"{FLAG_NAMES.get(f, f)}（{f}）{n} 次" for f, n in sorted(counts.items()))
        return Alert(
            key=f"flags|{at.mn}|{at.cn}|{factor}|{at.dt_text}", kind="flags", mn=at.mn, cn=at.cn, factor=factor,
            data_time=at.data_time, value=float(bad), threshold=float(cfg.flag_threshold), packet_key=at.packet_key,
            message=(f"{at.label}：{name_of(factor)}（{factor}）{at.cn_name}最近 {len(win)} 个数据中 {bad} 个"
                     f"带异常标记：{desc}"),
            evidence={"MN": at.mn, "CN": at.cn, "factor": factor, "window": [list(x) for x in win],
                      "counts": counts, "packet": at.raw},
        )

    def _missing_factors(self, at: _Arrival, obs: list[Obs]) -> list[Alert]:
        """缺测: a factor the registry expects is not in the packet; once until it is reported again."""
        dev = at.device
        if dev is None or not dev.factors:
            return []
        present = {o[0] for o in obs}
        alerts = []
        for f in dev.factors:
            mk = (at.mn, f)
            if f in present:
                self._missing.discard(mk)
            elif mk not in self._missing:
                self._missing.add(mk)
                alerts.append(Alert(
                    key=f"missing|{at.mn}|{f}|{at.packet_key}", kind="missing", mn=at.mn, cn=at.cn, factor=f,
                    data_time=at.data_time, packet_key=at.packet_key,
                    message=f"{at.label}：{at.cn_name}缺少应监测因子 {name_of(f)}（{f}）（数据时间 {at.dt_text}）",
                    evidence={"MN": at.mn, "QN": at.qn, "CN": at.cn, "DataTime": at.dt_text,
                              "expected": list(dev.factors), "present": sorted(present), "packet": at.raw},
                ))
        return alerts

    # -- periodic ---------------------------------------------------------------------------------------------

    def check_silence(self, now: datetime, devices: Mapping[str, Device], last_seen: Mapping[str, datetime],
                      since_start: datetime) -> list[Alert]:
        """Devices with an expected interval that have been silent too long (``now``/times: Beijing, naive)."""
        cfg = self.config
        alerts: list[Alert] = []
        for mn, dev in devices.items():
            if not dev.registered or not dev.interval_s or mn in self._silent:
                continue
            limit = max(dev.interval_s * cfg.silence_factor, cfg.silence_min_s)
            seen = last_seen.get(mn)
            ref = seen if seen is not None else since_start
            gap = (now - ref).total_seconds()
            if gap > limit:
                self._silent.add(mn)
                last = f"{seen:%Y-%m-%d %H:%M:%S}" if seen is not None else "（本次启动以来未收到）"
                alerts.append(Alert(
                    key=f"silent|{mn}|{ref:%Y%m%d%H%M%S%f}", kind="silent", mn=mn, data_time=ref,
                    value=round(gap, 1), threshold=limit,
                    message=(f"{dev.label()}：已 {timedelta(seconds=int(gap))} 未上报数据（应每 {dev.interval_s} 秒"
                             f"上报；最后一次 {last}）"),
                    evidence={"MN": mn, "last_seen": None if seen is None else seen.isoformat(sep=" "),
                              "interval_s": dev.interval_s, "silent_s": round(gap, 1), "limit_s": limit,
                              "checked_at": now.isoformat(sep=" ")},
                ))
        return alerts
