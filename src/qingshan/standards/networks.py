"""Monitoring networks of air stations (``stations.network``).

Town stations (乡镇站) rank their towns and never enter city or district values (the national platform's
practice; docs/store.md "stations"); the other networks (国控, 省控, 市控) all count for their city.
"""

from __future__ import annotations

#: ``stations.network`` of town stations (乡镇站)
TOWN_NETWORK = "乡镇"

#: every network name the store holds, highest first
NETWORKS: tuple[str, ...] = ("国控", "省控", "市控", TOWN_NETWORK)
