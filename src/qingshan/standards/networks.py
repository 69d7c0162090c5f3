"""Monitoring networks (``stations.network``) and which of them count for which official figure (docs/networks.md).

A bureau's monitoring (seed 003: 8 national and 4 provincial air stations, 62 town stations, a 208-point grid of
micro-sensors, construction-site dust monitors, enterprise outlets) falls into these networks:

* 国控, 省控, 市控 — the evaluation stations (standard-method automatic stations): HJ 663 computes a city's values
  as the mean of its evaluation stations (城市点位; docs/air-rules.md); they are also the reference for
  calibrating sensors;
* 乡镇 — town stations: they rank their towns and never enter city or district values (the national platform's
  practice);
* 网格微站 — grid micro-sensors (网格化监测微站) and 工地扬尘 — construction-site dust monitors: sensor-grade
  instruments that are stored, shown and analysed but never enter any official figure (they are not
  standard-method stations, so they are no 城市点位 of HJ 663);
* 企业排口 — enterprise outlets (pollution sources): members of the HJ 212 device registry, never air-quality
  figures.

Control sites (对照点, also stopped stations) are not a network of their own: any station may be one, marked by
``stations.is_control``; they never count for a city or a town. A station without a network (older station lists)
counts as an evaluation station.

The predicates below are the only place that decides membership; the evaluation engines, targets, reports and the
console all ask them (vectorised through :func:`city_mask` / :func:`town_mask`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

NATIONAL = "国控"
PROVINCIAL = "省控"
CITY_NETWORK = "市控"
#: ``stations.network`` of town stations (乡镇站)
TOWN_NETWORK = "乡镇"
#: grid micro-sensors (网格化监测微站)
GRID_NETWORK = "网格微站"
#: construction-site dust monitors (工地扬尘监测)
DUST_NETWORK = "工地扬尘"
#: enterprise outlets (HJ 212 pollution-source devices; listed from the device registry, not the station table)
OUTLET_NETWORK = "企业排口"

#: every network name the store holds, highest first
NETWORKS: tuple[str, ...] = (NATIONAL, PROVINCIAL, CITY_NETWORK, TOWN_NETWORK, GRID_NETWORK, DUST_NETWORK,
                             OUTLET_NETWORK)
#: standard-method evaluation networks: city values, and the reference for sensor calibration
REFERENCE_NETWORKS: frozenset[str] = frozenset({NATIONAL, PROVINCIAL, CITY_NETWORK})
#: sensor networks: stored, shown and analysed, never in an official figure
INDICATIVE_NETWORKS: frozenset[str] = frozenset({GRID_NETWORK, DUST_NETWORK})
#: networks that never enter an official air-quality figure (city, district, town, station ranking, target)
UNOFFICIAL_NETWORKS: frozenset[str] = INDICATIVE_NETWORKS | {OUTLET_NETWORK}

#: names accepted in a station list's 站点类别 column (lower-cased ASCII) → network
ALIASES: dict[str, str] = {
    "国控": NATIONAL, "国控站": NATIONAL, "national": NATIONAL,
    "省控": PROVINCIAL, "省控站": PROVINCIAL, "provincial": PROVINCIAL,
    "市控": CITY_NETWORK, "市控站": CITY_NETWORK, "city": CITY_NETWORK,
    "乡镇": TOWN_NETWORK, "乡镇站": TOWN_NETWORK, "town": TOWN_NETWORK,
    "网格微站": GRID_NETWORK, "网格": GRID_NETWORK, "微站": GRID_NETWORK, "网格化监测微站": GRID_NETWORK,
    "微型站": GRID_NETWORK, "grid": GRID_NETWORK, "sensor": GRID_NETWORK,
    "工地扬尘": DUST_NETWORK, "扬尘": DUST_NETWORK, "工地扬尘监测": DUST_NETWORK, "扬尘监测": DUST_NETWORK,
    "dust": DUST_NETWORK,
    "企业排口": OUTLET_NETWORK, "排口": OUTLET_NETWORK, "污染源": OUTLET_NETWORK, "outlet": OUTLET_NETWORK,
}


def network_of(text: str | None) -> str | None:
    """The network a station list names (aliases of :data:`ALIASES`; other text kept as written; empty: None)."""
    if not text:
        return None
    return ALIASES.get(text.lower() if text.isascii() else text, text)


def _network(network: object) -> str | None:
    # a name written straight into the store (not through a station list) may still be an alias: 扬尘, 微站 …
    return network_of(network) if isinstance(network, str) and network else None


def names_of(networks: frozenset[str] | set[str]) -> list[str]:
    """Every stored name (canonical or alias) that means one of ``networks`` (for SQL ``IN`` lists), sorted."""
    return sorted(set(networks) | {alias for alias, n in ALIASES.items() if n in networks})


def is_official(network: str | None) -> bool:
    """Does a station of ``network`` take part in official figures at all (not a sensor network, not an outlet)?"""
    return _network(network) not in UNOFFICIAL_NETWORKS


def counts_for_city(network: str | None, is_control: bool | None) -> bool:
    """Does the station enter its city's and district's values (HJ 663: the evaluation stations)? Not a control
    site, not a town station, not a sensor or an outlet."""
    return not bool(is_control) and is_official(network) and _network(network) != TOWN_NETWORK


def counts_for_town(network: str | None, is_control: bool | None) -> bool:
    """Does the station enter its town's values (town rankings)? Every official station of the town that is not a
    control site: town stations and evaluation stations alike; never a sensor or an outlet."""
    return not bool(is_control) and is_official(network)


def ranks_as_station(network: str | None, is_control: bool | None) -> bool:
    """Is the station listed in official station rankings (evaluation tables, bulletins)? The same stations as
    :func:`counts_for_town`."""
    return counts_for_town(network, is_control)


def is_reference(network: str | None) -> bool:
    """Is the station a standard-method reference for sensor calibration (国控/省控/市控, or a station without a
    network, which counts as an evaluation station)?"""
    n = _network(network)
    return n is None or n in REFERENCE_NETWORKS


def _columns(stations: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    import pandas as pd

    network = stations["network"] if "network" in stations else pd.Series([None] * len(stations), index=stations.index)
    control = stations["is_control"] if "is_control" in stations else pd.Series(False, index=stations.index)
    return network, control.astype(object).where(control.notna(), False).astype(bool)


def city_mask(stations: pd.DataFrame) -> pd.Series:
    """:func:`counts_for_city` of every row of a frame with ``network`` and ``is_control`` columns (either may be
    missing: no network, not a control site)."""
    network, control = _columns(stations)
    return network.map(lambda n: counts_for_city(n, False)).astype(bool) & ~control


def town_mask(stations: pd.DataFrame) -> pd.Series:
    """:func:`counts_for_town` of every row (columns as :func:`city_mask`)."""
    network, control = _columns(stations)
    return network.map(lambda n: counts_for_town(n, False)).astype(bool) & ~control


def station_rank_mask(stations: pd.DataFrame) -> pd.Series:
    """:func:`ranks_as_station` of every row (columns as :func:`city_mask`)."""
    return town_mask(stations)


def indicative_mask(stations: pd.DataFrame) -> pd.Series:
    """Rows of a sensor network (网格微站, 工地扬尘)."""
    network, _ = _columns(stations)
    return network.map(lambda n: _network(n) in INDICATIVE_NETWORKS).astype(bool)


def network_mask(stations: pd.DataFrame, network: str) -> pd.Series:
    """Rows of one network (aliases included)."""
    col, _ = _columns(stations)
    return col.map(lambda n: _network(n) == network).astype(bool)
