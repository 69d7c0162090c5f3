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
        """Evaluate the rules on the values of one newly stored data packet."""
        cfg = self.config
        dev = self.device(mn)
        self._silent.discard(mn)
        alerts: list[Alert] = []
        label = dev.label() if dev is not None else mn
        cn_name = CN_NAMES.get(cn, f"CN {cn}")
        limits = dev.limits if dev is not None and cn in dev.limit_cns else None
        run_len = cfg.flat_run.get(cn, 0)
        for factor, measured, judged, judged_field, flag in obs:
            # exceedance
            if limits and judged is not None:
                lim = limits.get(factor)
                if lim is not None and judged > lim and (flag is None or flag not in cfg.exceed_skip_flags):
                    unit = unit_of(factor)
                    alerts.append(Alert(
                        key=f"exceed|{packet_key}|{factor}", kind="exceed", mn=mn, cn=cn, factor=factor,
                        data_time=data_time, value=judged, threshold=lim, packet_key=packet_key,
                        message=(f"{label}：{name_of(factor)}（{factor}）{cn_name} {judged_field} = {judged:g}{unit}，"
                                 f"超过限值 {lim:g}{unit}（数据时间 {data_time:%Y-%m-%d %H:%M}）"),
                        evidence={"MN": mn, "QN": qn, "CN": cn, "DataTime": dt_text, "factor": factor,
                                  "field": judged_field, "value": judged, "limit": lim, "flag": flag,
                                  "ratio": round(judged / lim, 4) if lim else None, "packet": raw},
                    ))
            key = (mn, cn, factor)
            # flat line (measured values flagged N or unflagged)
            if run_len > 1 and measured is not None and (flag is None or flag == "N"):
                st = self._flat.get(key)
                if st is None or st[0] != measured:
                    self._flat[key] = [measured, 1, dt_text, False]
                else:
                    st[1] += 1
                    if st[1] >= run_len and not st[3]:
                        st[3] = True
                        alerts.append(Alert(
                            key=f"flat|{mn}|{cn}|{factor}|{st[2]}", kind="flat", mn=mn, cn=cn, factor=factor,
                            data_time=data_time, value=measured, threshold=float(run_len), packet_key=packet_key,
                            message=(f"{label}：{name_of(factor)}（{factor}）{cn_name}连续 {st[1]} 个数据恒为 "
                                     f"{measured:g}（自 {st[2]} 起）"),
                            evidence={"MN": mn, "CN": cn, "factor": factor, "value": measured, "run": st[1],
                                      "first_DataTime": st[2], "last_DataTime": dt_text, "packet": raw},
                        ))
            elif flag is not None and flag != "N":
                self._flat.pop(key, None)
            # non-N flags in a window: [deque of (flag, DataTime), non-N count, alerted]
            if flag is not None:
                w = self._flags.get(key)
                if w is None:
                    if flag == "N":
                        continue  # nothing to remember until a non-N flag shows up
                    w = self._flags[key] = [deque(maxlen=cfg.flag_window), 0, False]
                win = w[0]
                if len(win) == win.maxlen and win[0][0] != "N":
                    w[1] -= 1
                win.append((flag, dt_text))
                if flag != "N":
                    w[1] += 1
                bad = w[1]
                if bad >= cfg.flag_threshold and not w[2]:
                    w[2] = True
                    counts: dict[str, int] = {}
                    for f, _ in win:
                        if f != "N":
                            counts[f] = counts.get(f, 0) + 1
                    desc = "、".join(f"{FLAG_NAMES.get(f, f)}（{f}）{n} 次" for f, n in sorted(counts.items()))
                    alerts.append(Alert(
                        key=f"flags|{mn}|{cn}|{factor}|{dt_text}", kind="flags", mn=mn, cn=cn, factor=factor,
                        data_time=data_time, value=float(bad), threshold=float(cfg.flag_threshold),
                        packet_key=packet_key,
                        message=(f"{label}：{name_of(factor)}（{factor}）{cn_name}最近 {len(win)} 个数据中 {bad} 个"
                                 f"带异常标记：{desc}"),
                        evidence={"MN": mn, "CN": cn, "factor": factor, "window": [list(x) for x in win],
                                  "counts": counts, "packet": raw},
                    ))
                elif bad == 0:
                    del self._flags[key]  # clean window: forget it (re-armed)
        # expected factors missing from the packet
        if dev is not None and dev.factors:
            present = {o[0] for o in obs}
            for f in dev.factors:
                mk = (mn, f)
                if f in present:
                    self._missing.discard(mk)
                elif mk not in self._missing:
                    self._missing.add(mk)
                    alerts.append(Alert(
                        key=f"missing|{mn}|{f}|{packet_key}", kind="missing", mn=mn, cn=cn, factor=f,
                        data_time=data_time, packet_key=packet_key,
                        message=f"{label}：{cn_name}缺少应监测因子 {name_of(f)}（{f}）（数据时间 {dt_text}）",
                        evidence={"MN": mn, "QN": qn, "CN": cn, "DataTime": dt_text, "expected": list(dev.factors),
                                  "present": sorted(present), "packet": raw},
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
