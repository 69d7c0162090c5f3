"""Charts shared by the web console and the reports: Vega-Lite specs (:mod:`.specs`), rendered in the browser by
vega-embed and on the server by vl-convert (:mod:`.render`), with CJK fonts from :mod:`.fonts`.

Import :mod:`.render` only where rendering is needed: it loads the vl-convert extension.
"""

from .fonts import CJK_FAMILY, CJK_SERIF_FAMILY, FontMissing, cjk_font_dir

__all__ = ["CJK_FAMILY", "CJK_SERIF_FAMILY", "FontMissing", "cjk_font_dir"]
