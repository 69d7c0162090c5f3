"""The console's data functions: plain dicts built from the engines, shared by the JSON API (:mod:`..api`) and
the pages (:mod:`..pages`) — a page shows exactly what the matching ``/api/v1`` endpoint returns.

Errors: :class:`.common.DataNotFound` (HTTP 404) and :class:`.common.BadParameter` (HTTP 422), in Chinese.
"""
