"""One number coercer and one formatter for the whole platform (layer 0: standard library only).

Engine results arrive as Python floats, numpy and pandas scalars, Arrow scalars, ``Decimal`` from the databases,
``None``, ``NaN`` and ``pd.NA``. :func:`finite` turns any of them into a finite ``float`` or ``None``; every
"is this a value?" question in the web, chart and report code goes through it (or :func:`missing`), so NaN, ±inf
and NA are treated alike everywhere. numpy/pandas are never imported here: their scalars implement ``__float__``
and their missing markers are recognised by type name.

The formatters write a value with a given number of decimals, an optional unit and a single placeholder
(:data:`DASH`) for a missing value. The precision of a quantity is the standard's, taken from
:mod:`qingshan.standards` by the caller (``POLLUTANTS[code].digits``, ``acid_rain.PH_DIGITS``, ``noise.DIGITS``,
``dustfall.DIGITS`` …): AQI and µg/m³ concentrations are integers, CO (mg/m³) one decimal, pH two, dB(A) one.
Formatting does not round again by GB/T 8170: values reaching here are already rounded by the engines.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import QingshanError

#: shown where a value is missing or not valid
DASH = "—"

#: type names of "missing" markers of pandas/numpy/pyarrow (recognised without importing those libraries)
_MISSING_TYPES = frozenset({"NAType", "NaTType", "NullScalar"})
_BOOL_TYPES = frozenset({"bool", "bool_"})  # Python bool, numpy.bool_ (named "bool" since numpy 2)


class NotANumber(QingshanError, ValueError):
    """A value meant to be a number is something else (a word, a date …)."""


def missing(x: Any) -> bool:
    """Is ``x`` a missing value: ``None``, a NaN (float, numpy, Decimal), ``pd.NA``, ``pd.NaT``, an Arrow null?"""
    if isinstance(x, float):  # also numpy.float64; the common case first
        return math.isnan(x)
    if x is None or type(x).__name__ in _MISSING_TYPES or getattr(x, "is_valid", True) is False:
        return True  # is_valid: a pyarrow scalar holding null
    if isinstance(x, str) or type(x).__name__ in _BOOL_TYPES or hasattr(x, "__len__"):
        return False  # a text, a flag or a container (float() would read a one-element array)
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError, OverflowError):
        return type(x).__name__ == "Decimal"  # only a signalling NaN refuses float()


def finite(x: Any, *, strict: bool = False) -> float | None:
    """``x`` as a finite float, or ``None`` when it is missing, NaN, ±inf or not a number.

    Accepted: ``int``, ``float``, ``Decimal``, ``Fraction``, numpy/pandas/Arrow numeric scalars and a number
    written as text (``"12.5"``, as spreadsheet cells often are). A ``bool`` is not a number. With ``strict`` a
    value that is not a number at all (a word, a date, a bool) raises :class:`NotANumber` instead of giving
    ``None``; missing values and ±inf still give ``None``.
    """
    if isinstance(x, float):  # also numpy.float64; the common case first
        return float(x) if math.isfinite(x) else None
    if missing(x):
        return None
    if type(x).__name__ in _BOOL_TYPES or (hasattr(x, "__len__") and not isinstance(x, str)):
        return _not_a_number(x, strict)
    try:
        f = float(x)
    except OverflowError:  # an int beyond the float range: a number, but not a finite one
        return None
    except (TypeError, ValueError):
        return _not_a_number(x, strict)
    return f if math.isfinite(f) else None


def _not_a_number(x: Any, strict: bool) -> None:
    if strict:
        raise NotANumber(f"不是数值：{x!r}")
    return None


def integer(x: Any) -> int | None:
    """:func:`finite` truncated to an ``int`` (counts, AQI values that are integers already), or ``None``."""
    f = finite(x)
    return None if f is None else int(f)


# --- formatting -------------------------------------------------------------------------------------------------


def fmt(x: Any, digits: int = 0, *, unit: str = "", dash: str = DASH, keep_text: bool = False) -> str:
    """``x`` with ``digits`` decimals and ``unit`` appended (``"35µg/m³"``, ``"5.81"``), ``dash`` when missing.

    ``keep_text`` shows a non-numeric text as it is (a web table cell that may hold a word) instead of ``dash``;
    an empty text is always missing.
    """
    f = finite(x)
    if f is None:
        if keep_text and isinstance(x, str) and x and not missing(x):
            return x
        return dash
    return f"{f:.{digits}f}{unit}"


def plain(x: Any, *, unit: str = "", dash: str = DASH) -> str:
    """A number without a needless ".0" (limits and thresholds: ``35``, ``4``, ``2.3``), ``dash`` when missing."""
    f = finite(x)
    if f is None:
        return dash
    return (str(int(f)) if f.is_integer() else f"{f:g}") + unit


def signed(x: Any, digits: int = 1, *, unit: str = "", dash: str = DASH) -> str:
    """A change in a table cell: ``+3.0`` / ``-1.1`` / ``0.0`` (with ``unit``: ``+3.0%``), ``dash`` when missing."""
    f = finite(x)
    if f is None:
        return dash
    return f"{'+' if f > 0 else ''}{f:.{digits}f}{unit}"
