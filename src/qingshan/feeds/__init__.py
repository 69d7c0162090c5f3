"""Feeds: data arriving from devices turned into the measurement store's rows
(docs/hj212.md#环境质量站点入库feed).

:mod:`.quality` moves HJ 212 environmental-quality data (air ST=22 with meteorology, surface water ST=21) from
``source_data`` into ``air_hourly``, ``met_hourly`` and ``water_auto``.
"""
