"""Longitude and latitude cells of the bureau's registers (water sections) and GIS files (town boundaries).

Coordinates are WGS-84 decimal degrees, as GPS receivers and national GIS exports give them. A cell may also be
written in degrees, minutes and seconds (``119°58′12.5″``, ``119°58'12.5"``, ``119度58分12.5秒``), which is converted.
A position must lie within China's extent (:data:`CHINA`): the platform serves a Chinese city, and a point outside
that box is almost always a typing error or swapped columns (a latitude of 119 is no latitude). Projected
coordinates (metres of a Gauss–Krüger or Web Mercator grid) fall far outside it and are refused the same way.
"""

from __future__ import annotations

import math
import re

#: (west, south, east, north) of China in degrees, rounded outwards: 73°33′E – 135°05′E, 3°51′N – 53°33′N
CHINA: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)
CHINA_TEXT = "经度 73–136、纬度 3–54（WGS-84 十进制度）"

_DMS = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*[°度]\s*(?:([0-9]+(?:\.[0-9]+)?)\s*['′’分]\s*)?"
                  r"(?:([0-9]+(?:\.[0-9]+)?)\s*(?:[\"″”]|''|′′|秒)\s*)?([EWNS东西南北])?\s*$", re.IGNORECASE)


class BadCoordinate(ValueError):
    """A cell that is no coordinate; the message is one Chinese sentence (without the file and line)."""


def parse_degrees(text: object) -> float | None:
    """Decimal degrees of a cell (None when empty); :class:`BadCoordinate` when it is not a number of degrees.

    >>> parse_degrees("119.97")
    119.97
    >>> round(parse_degrees("119°58′12″"), 5)
    119.97
    >>> parse_degrees("") is None
    True
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    s = str(text).strip()
    if not s or s.lower() in ("nan", "none", "-", "—", "/"):
        return None
    try:
        v = float(s.rstrip("°").strip())
    except ValueError:
        m = _DMS.match(s)
        if m is None:
            raise BadCoordinate(f"“{s[:30]}”不是经纬度（应为十进制度，如 119.97，或度分秒，如 119°58′12″）") from None
        d, mi, se, hemi = m.groups()
        v = float(d) + float(mi or 0) / 60 + float(se or 0) / 3600
        if mi is not None and float(mi) >= 60 or se is not None and float(se) >= 60:
            raise BadCoordinate(f"“{s[:30]}”的分或秒不小于 60") from None
        if hemi and hemi.upper() in ("W", "S", "西", "南"):
            v = -v
    if not math.isfinite(v):
        raise BadCoordinate(f"“{s[:30]}”不是有限的数值")
    return v


def in_china(lon: float, lat: float) -> bool:
    """Is (lon, lat) inside :data:`CHINA`?

    >>> in_china(119.97, 31.78), in_china(31.78, 119.97)
    (True, False)
    """
    w, s, e, n = CHINA
    return w <= lon <= e and s <= lat <= n


def position(lon_text: object, lat_text: object) -> tuple[float, float] | None:
    """(lon, lat) of two cells, None when both are empty; :class:`BadCoordinate` when one is missing, unreadable
    or the point lies outside China (with a hint when the two look swapped).

    >>> position("119.97", "31.78")
    (119.97, 31.78)
    >>> position(None, "") is None
    True
    """
    lon, lat = parse_degrees(lon_text), parse_degrees(lat_text)
    if lon is None and lat is None:
        return None
    if lon is None or lat is None:
        raise BadCoordinate(f"只填了{'纬度' if lon is None else '经度'}，经度和纬度须同时填写")
    if not in_china(lon, lat):
        hint = "，像是经度与纬度填反了" if in_china(lat, lon) else ""
        raise BadCoordinate(f"经纬度 ({lon:g}, {lat:g}) 不在中国范围内（{CHINA_TEXT}）{hint}")
    return lon, lat
