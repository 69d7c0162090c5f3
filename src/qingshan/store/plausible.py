"""Defence in depth: the store refuses a batch that carries a value no importer may pass on.

The importers quarantine non-finite and physically impossible values (:mod:`qingshan.standards.ranges`) before
anything is stored. Should one slip through (a new adapter, a bug), the merge must not let it overwrite a good
stored value: :func:`check_batch` looks at the batch's value columns (min/max and NaN count per column, a few
vectorised passes) and raises :class:`ImplausibleBatch`, which rolls the import's transaction back.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..standards.ranges import RANGES, Range, range_of

#: Value columns of the tables whose names do not name their quantity (other columns: :func:`range_of`).
_COLUMN_PARAMS: dict[str, dict[str, str]] = {
    "dustfall": {"value": "dustfall"},
}
#: Tables whose value column holds several quantities, named by another column: (value columns, item column).
_ITEMISED: dict[str, tuple[tuple[str, ...], str]] = {"water_samples": (("value", "dl"), "item")}


class ImplausibleBatch(ValueError):
    """A batch for the store holds a non-finite or physically impossible value (an importer's bug)."""


def _violation(column: pa.ChunkedArray | pa.Array, rng: Range | None) -> str | None:
    if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)) or len(column) == 0:
        return None
    if pa.types.is_floating(column.type):
        nan = pc.sum(pc.is_nan(column)).as_py() or 0
        if nan:
            return f"{nan} 个 NaN"
        inf = pc.sum(pc.is_inf(column)).as_py() or 0
        if inf:
            return f"{inf} 个无穷大"
    if rng is None:
        return None
    mm = pc.min_max(column)
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    if lo is not None and lo < rng.lo:
        return f"最小值 {lo:g} 低于 {rng.lo:g}"
    if hi is not None and hi > rng.hi:
        return f"最大值 {hi:g} 高于 {rng.hi:g}"
    return None


def check_batch(table: str, batch: pa.Table, columns: list[str] | None = None) -> None:
    """Raise :class:`ImplausibleBatch` when a value column of ``batch`` (for ``table``) holds NaN, an infinite
    value or a value outside its range. ``columns``: the value columns to check (default: every numeric one)."""
    names = columns if columns is not None else batch.column_names
    problems: list[str] = []
    if table in _ITEMISED:
        value_cols, item_col = _ITEMISED[table]
        items = pc.unique(batch.column(item_col)).to_pylist() if item_col in batch.column_names else []
        for item in items:
            rows = batch.filter(pc.equal(batch.column(item_col), item))
            for c in value_cols:
                if c in rows.column_names and (v := _violation(rows.column(c), range_of(str(item)))):
                    problems.append(f"{item}.{c}：{v}")
    else:
        params = _COLUMN_PARAMS.get(table, {})
        for c in names:
            if c in params:
                rng = RANGES[params[c]]
            else:
                rng = range_of(c)
                if rng is None:
                    continue  # keys, counts, codes: not measurements
            if (v := _violation(batch.column(c), rng)):
                problems.append(f"{c}：{v}")
    if problems:
        raise ImplausibleBatch(f"写入 {table} 的数据含有非有限或超出物理量程的数值（{'；'.join(problems[:5])}；"
                               f"导入程序的缺陷），本次导入未写入任何数据")
