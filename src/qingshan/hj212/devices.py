"""Device registry: which data loggers (MN) may report, with what password, for which enterprise/outlet or station.

File format (docs/hj212.md): CSV with a header row, or JSON (a list of objects).  Columns / keys, English or Chinese:

=================  ==========================================  =============================================
key                Chinese header                              meaning
=================  ==========================================  =============================================
``mn``             MN、设备编号、数采仪编号                    device id (required)
``password``       PW、密码、访问密码                          PW the device must send (empty: not checked)
``name``           名称、设备名称                              display name
``enterprise``     企业、企业名称、单位                        enterprise (pollution sources)
``outlet``         排口、排放口                                outlet name/code
``station``        站点、站点名称                              station (environmental quality)
``st``             ST、系统编码                                expected ST (empty: any)
``factors``        因子、监测因子                              expected factors, ``a21026;a21002`` (2005 codes ok)
``interval``       上报间隔、上报间隔秒                        expected seconds between data packets
``min_interval``   分钟数据间隔                                minutes of one CN 2051 period
``limits``         限值、排放限值                              ``a21026=35;a34013=10`` (JSON: an object)
``limit_cns``      限值适用命令                                CNs the limits apply to (default 2061;2031)
``units``          计量单位、浓度单位                          units the device reports in where they differ
                                                               from the defaults: ``a21026=mg/m3;a21004=ppb``
``state``          参比状态、浓度状态                          state of its gas concentrations: 参比 (298.15 K,
                                                               default) or 标准 (273.15 K, converted)
``lon``, ``lat``   经度、纬度                                  where the outlet or device stands (WGS-84 degrees;
                                                               the cause note's candidate sources need them)
=================  ==========================================  =============================================

``units`` and ``state`` matter only for devices that feed the measurement store (``station`` set, ST=21/22:
:mod:`qingshan.feeds.quality`); defaults and the accepted units are in docs/rules/hj212-feed.md.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import QingshanError
from ..standards.units import UnitError, canonical_state, canonical_unit
from .factors import MAX_MAGNITUDE, to_2017

MAX_INTERVAL_S = 366 * 86400  # a reporting interval longer than a year is a typo (and must fit the INTEGER column)

_ALIASES = {
    "mn": ("mn", "设备编号", "数采仪编号", "数据采集仪编号"),
    "password": ("password", "pw", "密码", "访问密码"),
    "name": ("name", "名称", "设备名称"),
    "enterprise": ("enterprise", "企业", "企业名称", "单位"),
    "outlet": ("outlet", "排口", "排放口"),
    "station": ("station", "站点", "站点名称"),
    "st": ("st", "系统编码"),
    "factors": ("factors", "因子", "监测因子"),
    "interval": ("interval", "interval_s", "上报间隔", "上报间隔秒"),
    "min_interval": ("min_interval", "分钟数据间隔"),
    "limits": ("limits", "限值", "排放限值"),
    "limit_cns": ("limit_cns", "限值适用命令"),
    "units": ("units", "unit", "计量单位", "浓度单位"),  # not 单位: that is the enterprise (单位名称)
    "state": ("state", "参比状态", "浓度状态"),  # not 状态: a registry may use it for the device status
    "lon": ("lon", "longitude", "经度"),
    "lat": ("lat", "latitude", "纬度"),
}
_KEY_OF = {alias.lower(): key for key, aliases in _ALIASES.items() for alias in aliases}
_SPLIT = re.compile(r"[;,，；、\s]+")


class DeviceFileError(QingshanError, ValueError):
    """The registry file cannot be read; the message names the row and the field (Chinese, for users)."""


@dataclass(frozen=True)
class Device:
    mn: str
    password: str | None = None
    name: str | None = None
    enterprise: str | None = None
    outlet: str | None = None
    station: str | None = None
    st: str | None = None
    factors: tuple[str, ...] = ()
    interval_s: int | None = None
    min_interval: int | None = None
    limits: Mapping[str, float] = field(default_factory=dict)
    limit_cns: tuple[str, ...] = ("2061", "2031")
    registered: bool = True
    units: Mapping[str, str] = field(default_factory=dict)  # factor code → unit, where not the default
    state: str | None = None  # reference | standard (gas concentrations); None = reference
    lon: float | None = None  # WGS-84 degrees
    lat: float | None = None

    def label(self) -> str:
        parts = [p for p in (self.enterprise, self.outlet, self.station, self.name) if p]
        return " / ".join(parts) if parts else self.mn


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _int(v: Any, what: str, where: str, most: int) -> int | None:
    s = _text(v)
    if s is None:
        return None
    try:
        n = int(float(s))
    except (ValueError, OverflowError):  # "abc", "nan"; "inf", "1e400"
        raise DeviceFileError(f"{where}：{what}应为整数，实为 {s!r}") from None
    if not 0 < n <= most:
        raise DeviceFileError(f"{where}：{what}应在 1–{most} 之间，实为 {s!r}")
    return n


def _limits(v: Any, where: str) -> dict[str, float]:
    if v is None or v == "":
        return {}
    items: Iterable[tuple[Any, Any]]
    if isinstance(v, Mapping):
        items = v.items()
    else:
        pairs = []
        for part in _SPLIT.split(str(v).strip()):
            if not part:
                continue
            k, sep, val = part.replace("：", "=").replace(":", "=").partition("=")
            if not sep:
                raise DeviceFileError(f"{where}：限值写法应为 因子=数值，实为 {part!r}")
            pairs.append((k, val))
        items = pairs
    out: dict[str, float] = {}
    for k, val in items:
        try:
            x = float(val)
        except (TypeError, ValueError, OverflowError):
            raise DeviceFileError(f"{where}：因子 {k} 的限值不是数值：{val!r}") from None
        if not 0 <= x <= MAX_MAGNITUDE:  # also inf and NaN
            raise DeviceFileError(f"{where}：因子 {k} 的限值应为 0–{MAX_MAGNITUDE:g} 之间的数，实为 {val!r}")
        out[to_2017(str(k).strip())] = x
    return out


#: Units a pressure may be reported in (HJ 212-2017 附录B gives kPa for a01006).
PRESSURE_UNITS = {"kpa": "kPa", "hpa": "hPa"}
PRESSURE_CODE = "a01006"


def _units(v: Any, where: str) -> dict[str, str]:
    """``a21026=mg/m3;a01006=hPa`` (JSON: an object) → {2017 code: canonical unit}."""
    if v is None or v == "":
        return {}
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(v, Mapping):
        pairs = v.items()
    else:
        pairs = []
        for part in re.split(r"[;,，；、\s]+", str(v).strip()):
            if not part:
                continue
            k, sep, u = part.replace("：", "=").replace(":", "=").partition("=")
            if not sep:
                raise DeviceFileError(f"{where}：单位写法应为 因子=单位，实为 {part!r}")
            pairs.append((k, u))
    out: dict[str, str] = {}
    for k, u in pairs:
        code = to_2017(str(k).strip())
        text = str(u).strip()
        if code == PRESSURE_CODE:
            unit = PRESSURE_UNITS.get(text.lower())
            if unit is None:
                raise DeviceFileError(f"{where}：气压（a01006）的单位应为 kPa 或 hPa，实为 {text!r}")
        else:
            try:
                unit = canonical_unit(text)
            except UnitError as e:
                raise DeviceFileError(f"{where}：因子 {code}：{e}") from None
        out[code] = unit
    return out


def _state(v: Any, where: str) -> str | None:
    s = _text(v)
    if s is None:
        return None
    try:
        return canonical_state(s)
    except UnitError as e:
        raise DeviceFileError(f"{where}：{e}") from None


def _list(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, (list, tuple)):
        return tuple(str(x).strip() for x in v if str(x).strip())
    return tuple(p for p in _SPLIT.split(str(v).strip()) if p)


def device_from_mapping(row: Mapping[str, Any], where: str) -> Device:
    d: dict[str, Any] = {}
    for k, v in row.items():
        if k is None:
            continue
        key = _KEY_OF.get(str(k).strip().lower().lstrip("\ufeff"))
        if key is not None:
            d[key] = v
    mn = _text(d.get("mn"))
    if mn is None:
        raise DeviceFileError(f"{where}：缺少设备编号（MN）")
    cns = _list(d.get("limit_cns"))
    return Device(
        mn=mn,
        password=_text(d.get("password")),
        name=_text(d.get("name")),
        enterprise=_text(d.get("enterprise")),
        outlet=_text(d.get("outlet")),
        station=_text(d.get("station")),
        st=_text(d.get("st")),
        factors=tuple(to_2017(f) for f in _list(d.get("factors"))),
        interval_s=_int(d.get("interval"), "上报间隔（秒）", where, MAX_INTERVAL_S),
        min_interval=_int(d.get("min_interval"), "分钟数据间隔", where, 1440),
        limits=_limits(d.get("limits"), where),
        limit_cns=cns or ("2061", "2031"),
        units=_units(d.get("units"), where),
        state=_state(d.get("state"), where),
        lon=_degrees(d.get("lon"), "经度", where, 180.0),
        lat=_degrees(d.get("lat"), "纬度", where, 90.0),
    )


def _degrees(v: Any, what: str, where: str, most: float) -> float | None:
    s = _text(v)
    if s is None:
        return None
    try:
        x = float(s)
    except ValueError:
        raise DeviceFileError(f"{where}：{what}应为数值（度），实为 {s!r}") from None
    if not -most <= x <= most:  # also refuses nan and inf
        raise DeviceFileError(f"{where}：{what}应在 −{most:g}…{most:g} 度之间，实为 {s!r}")
    return x


def read_device_file(path: str | Path) -> list[Device]:
    """Read a registry file (CSV or JSON).  Raises :class:`DeviceFileError` with a Chinese message."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise DeviceFileError(f"无法读取设备登记文件 {p}：{e.strerror}") from None
    text = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise DeviceFileError(f"{p.name}：无法识别文件编码（应为 UTF-8 或 GB18030）")
    devices: list[Device] = []
    if p.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DeviceFileError(f"{p.name}：JSON 格式错误（第 {e.lineno} 行）：{e.msg}") from None
        if isinstance(data, Mapping):
            data = data.get("devices", [])
        if not isinstance(data, list):
            raise DeviceFileError(f"{p.name}：JSON 应为设备对象的列表")
        for i, obj in enumerate(data, 1):
            if not isinstance(obj, Mapping):
                raise DeviceFileError(f"{p.name} 第 {i} 个设备：应为对象")
            devices.append(device_from_mapping(obj, f"{p.name} 第 {i} 个设备"))
    else:
        reader = csv.DictReader(io.StringIO(text))
        for i, row in enumerate(reader, 2):
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            devices.append(device_from_mapping(row, f"{p.name} 第 {i} 行"))
    seen: set[str] = set()
    for d in devices:
        if d.mn in seen:
            raise DeviceFileError(f"{p.name}：设备编号重复：{d.mn}")
        seen.add(d.mn)
    return devices
