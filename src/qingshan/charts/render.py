"""Server-side rendering of the chart specs (PNG for Word, SVG for PDF/HTML) and the browser bundle, via vl-convert.

vl-convert (PyPI ``vl-convert-python``) embeds the Vega, Vega-Lite and vega-embed JavaScript and a renderer, so
charts are drawn without a browser and without the network. Two things need care:

* **Fonts.** Its renderer knows no system fonts by default; the CJK folder (:func:`.fonts.cjk_font_dir`) is
  registered once per process before the first conversion, otherwise Chinese would come out as empty boxes.
* **Versions.** vl-convert ships several Vega-Lite versions but one Vega (v6 in 1.9). We pin :data:`PREFERRED_VL`
  (or the newest 6.x it has) for the server-side renderer *and* for the browser bundle, so the console and the
  reports draw the same chart with the same library. It is a 6.x because Vega-Lite 5 compiles to the Vega v5
  schema, and vega-embed logs "The compiled spec uses Vega v5, but current version is v6" in the browser for every
  chart; our specs use nothing that Vega-Lite 6 changed.

Measured on the development machine (2 cores, vl-convert 1.9): building the browser bundle takes about 1.5 s
(hence the on-disk cache, keyed by the vl-convert and Vega-Lite versions); the first PNG in a process about
0.5 s (the JavaScript engine starts), later ones 0.05–0.1 s; an SVG 0.05 s.
"""

from __future__ import annotations

import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import vl_convert as vlc

from .fonts import cjk_font_dir

PREFERRED_VL = "6.4"

_lock = threading.Lock()
_fonts_registered = False


@lru_cache(maxsize=1)
def vl_version() -> str:
    """The Vega-Lite version used everywhere: :data:`PREFERRED_VL` if shipped, else the newest 6.x, else newest."""
    versions = list(vlc.get_vegalite_versions())
    if PREFERRED_VL in versions:
        return PREFERRED_VL
    sixes = [v for v in versions if v.startswith("6.")]
    pick = sixes or versions
    return max(pick, key=lambda v: tuple(int(x) for x in v.split(".")))


def ensure_fonts() -> Path:
    """Register the CJK font folder with vl-convert (once per process) and return it."""
    global _fonts_registered
    font_dir = cjk_font_dir()
    with _lock:
        if not _fonts_registered:
            vlc.register_font_directory(str(font_dir))
            _fonts_registered = True
    return font_dir


def to_svg(spec: dict) -> str:
    """The chart as an SVG document (text kept as text, in the CJK family named by the spec)."""
    ensure_fonts()
    return vlc.vegalite_to_svg(spec, vl_version=vl_version())


def to_png(spec: dict, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes; ``scale`` 2 gives 144 px per inch of the spec's size (sharp in print)."""
    ensure_fonts()
    return vlc.vegalite_to_png(spec, vl_version=vl_version(), scale=scale)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/qingshan`` or ``~/.cache/qingshan``."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "qingshan"


def bundle_path(cache_dir: Path | None = None) -> Path:
    """The cached browser bundle (vega + vega-lite + vega-embed as one script), built on first use.

    The file name carries the vl-convert and Vega-Lite versions, so upgrading the package builds a new bundle
    instead of serving a stale one. The file is written atomically (a concurrent reader never sees half of it).
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"vega-bundle-vlconvert{vlc.__version__}-vl{vl_version()}.js"
    if path.is_file() and path.stat().st_size > 0:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    code = vlc.javascript_bundle(vl_version=vl_version())
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".bundle-", suffix=".js")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(code)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def javascript_bundle(cache_dir: Path | None = None) -> str:
    """The browser bundle's source: defines ``vegaEmbed``, ``vegaLite`` and ``vega`` on ``window``.

    Serve it from a local static route; no page ever loads these libraries from a CDN.
    """
    return bundle_path(cache_dir).read_text(encoding="utf-8")
