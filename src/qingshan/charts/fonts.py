"""Where the CJK fonts come from, for server-side charts (vl-convert) and PDF reports (Typst).

Neither renderer can draw Chinese text without a CJK font file, and we never commit font files to the repository
(docs/design.md#charts: CJK fonts from Debian's ``fonts-noto-cjk``). The directory is found, first match wins:

1. the environment variable ``QINGSHAN_CJK_FONT_DIR`` (a folder holding Noto Sans CJK SC, e.g. copied from
   another machine or from a font package of another distribution);
2. the folders where Debian/Ubuntu's ``fonts-noto-cjk`` (and other distributions' Noto CJK packages) install;
3. the ``fonts`` folder of the PyPI package ``mplfonts``, if it is installed (a pure-pip fallback).

A folder counts only if it really provides the family :data:`CJK_FAMILY`: the family names are read from the
font files themselves (through Typst's font scanner, which we ship anyway), not guessed from file names.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from ..errors import QingshanError
from ..settings import current as current_settings

#: the sans family every chart and the report titles use (``config.font`` of the Vega-Lite specs)
CJK_FAMILY = "Noto Sans CJK SC"
#: the serif family for PDF body text (宋体-like); falls back to :data:`CJK_FAMILY` when absent
CJK_SERIF_FAMILY = "Noto Serif CJK SC"
ENV_VAR = "QINGSHAN_CJK_FONT_DIR"
DEBIAN_PACKAGE = "fonts-noto-cjk"

#: where distributions install Noto CJK (Debian/Ubuntu first; Fedora, Arch and openSUSE after)
SYSTEM_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/noto-cjk"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
    Path("/usr/share/fonts/google-noto-sans-cjk-fonts"),
    Path("/usr/share/fonts/google-noto-serif-cjk-fonts"),
)

FONT_SUFFIXES = (".ttc", ".otf", ".ttf", ".otc")


class FontMissing(QingshanError, RuntimeError):
    """No folder with the CJK font was found: charts and PDF reports would show empty boxes instead of Chinese."""


def _mplfonts_dir() -> Path | None:
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        fonts = Path(root) / "fonts"
        if fonts.is_dir():
            return fonts
    return None


def candidate_dirs() -> list[tuple[str, Path]]:
    """The folders looked at, in order, each with where it came from (for the error message)."""
    out: list[tuple[str, Path]] = []
    if (configured := current_settings().cjk_font_dir) is not None:
        out.append((f"环境变量 {ENV_VAR}", configured))
    out += [("系统字体目录", d) for d in SYSTEM_DIRS]
    mpl = _mplfonts_dir()
    if mpl is not None:
        out.append(("PyPI 包 mplfonts", mpl))
    return out


@lru_cache(maxsize=32)
def families(font_dir: Path) -> frozenset[str]:
    """The font family names provided by the font files in ``font_dir`` (read from the files' name tables)."""
    import typst

    if not font_dir.is_dir() or not any(p.suffix.lower() in FONT_SUFFIXES for p in font_dir.rglob("*")):
        return frozenset()
    return frozenset(typst.Fonts(include_system_fonts=False, include_embedded_fonts=False,
                                 font_paths=[str(font_dir)]).families())


def cjk_font_dir() -> Path:
    """The first candidate folder that provides :data:`CJK_FAMILY`; :class:`FontMissing` (in Chinese) if none.

    An explicitly configured ``QINGSHAN_CJK_FONT_DIR`` that lacks the family is an error on its own, so a typo in
    the variable is reported instead of silently falling back to another folder.
    """
    tried: list[str] = []
    for origin, d in candidate_dirs():
        fams = families(d.resolve()) if d.exists() else frozenset()
        if CJK_FAMILY in fams:
            return d.resolve()
        if origin.startswith("环境变量"):
            raise FontMissing(
                f"{ENV_VAR}={d} 中没有找到字体“{CJK_FAMILY}”（找到：{'、'.join(sorted(fams)) or '无字体文件'}）。"
                f"请指向包含 NotoSansCJK 字体文件（.ttc/.otf）的目录，或删除该变量以使用系统字体。")
        tried.append(str(d))
    raise FontMissing(
        f"没有找到中文字体“{CJK_FAMILY}”，图表和 PDF 报告无法显示中文。请安装 Debian/Ubuntu 软件包 "
        f"{DEBIAN_PACKAGE}（sudo apt-get install {DEBIAN_PACKAGE}），或把环境变量 {ENV_VAR} 设为包含 "
        f"NotoSansCJK 字体文件的目录。已查找：{'；'.join(tried)}")


def serif_family(font_dir: Path | None = None) -> str:
    """The family for body text: :data:`CJK_SERIF_FAMILY` when the font folder has it, else :data:`CJK_FAMILY`."""
    d = font_dir if font_dir is not None else cjk_font_dir()
    return CJK_SERIF_FAMILY if CJK_SERIF_FAMILY in families(d.resolve()) else CJK_FAMILY
