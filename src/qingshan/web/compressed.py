"""Large, rarely changing responses (the Vega bundle, the boundary GeoJSON) sent gzip-compressed and cacheable.

The body is compressed once per ETag and kept; a request whose ``If-None-Match`` carries the ETag gets 304 with no
body; a client that does not accept gzip gets the plain bytes. ``Vary: Accept-Encoding`` keeps shared caches from
mixing the two. Not a middleware on purpose: Starlette's GZip middleware would also buffer the event stream.
"""

from __future__ import annotations

import gzip
import hashlib
import threading

from fastapi import Request, Response

#: one day: the ETag changes with the content, so a stale copy is revalidated cheaply after that
MAX_AGE = 86400
_lock = threading.Lock()
_gz: dict[str, bytes] = {}


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _gzipped(tag: str, body: bytes) -> bytes:
    with _lock:
        hit = _gz.get(tag)
    if hit is None:
        hit = gzip.compress(body, compresslevel=6, mtime=0)
        with _lock:
            if len(_gz) > 16:
                _gz.clear()
            _gz[tag] = hit
    return hit


def accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, q = part.strip().partition(";")
        if name.strip().lower() == "gzip" and q.replace(" ", "") not in ("q=0", "q=0.0"):
            return True
    return False


def cached_response(request: Request, body: bytes, media_type: str, tag: str | None = None) -> Response:
    """``body`` with ETag and Cache-Control, gzip when accepted, 304 when the client has it."""
    tag = tag or etag_of(body)
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={MAX_AGE}", "Vary": "Accept-Encoding"}
    match = request.headers.get("if-none-match", "")
    if tag in [t.strip().removeprefix("W/") for t in match.split(",")]:
        return Response(status_code=304, headers=headers)
    if accepts_gzip(request):
        return Response(_gzipped(tag, body), media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(body, media_type=media_type, headers=headers)
