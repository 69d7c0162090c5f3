"""Import direction between the packages of ``src/qingshan`` (docs/architecture.md "Layers").

Every module is parsed with :mod:`ast` (no import runs); each ``import`` / ``from … import`` (relative or
absolute, at top level or inside a function) that reaches another part of qingshan is checked against the layer
table below. A module may import its own layer or lower ones; the side packages ``ledger`` and ``hj212`` only
layers 0–2 (and themselves). Importing a private name (``from x import _y``) of another package fails too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "qingshan"

#: first part of the dotted name below ``qingshan`` → layer (lowest first)
LAYERS: dict[str, int] = {
    # 0: foundations with no domain knowledge
    "__init__": 0, "errors": 0, "settings": 0, "numbers": 0, "spreadsheet": 0,
    # 1: the national standards as pure functions and tables (no I/O)
    "standards": 1,
    # 2: the measurement store: schema, migrations, all SQL on store tables, the read API
    "store": 2,
    # 3: input formats into the store, synthetic data, the lake export; side packages ledger and hj212
    "ingest": 3, "synth": 3, "synth_other": 3, "synth_water": 3, "synth_networks": 3, "lake": 3, "ledger": 3, "hj212": 3,
    # 4: evaluation engines that apply standards to the store or to input tables
    "evaluate": 4, "feeds": 4,
    # 5: annual targets and the Spark scale-out
    "targets": 5, "alerts": 5, "spark": 5,
    # 6: chart definitions
    "charts": 6,
    # 7: reports (docx, pdf, html)
    "reports": 7,
    # 8: the web console and REST API
    "web": 8,
    # 9: entry points: demo builder and the command line
    "demo": 9, "demo_networks": 9, "cli": 9, "__main__": 9, "platform": 9,
}
#: single modules placed apart from their package (dotted name below ``qingshan`` → layer)
MODULE_LAYERS: dict[str, int] = {
    "spark.submit": 9,  # the spark-submit entry point: the whole command line as a Spark application
    "hj212.__main__": 9,  # python -m qingshan.hj212: the hj212 command group on its own (a service manager's unit)
}
#: packages beside the main chain: they may import only layers 0–2 and themselves
SIDE = {"ledger": 2, "hj212": 2}

#: Upward imports tolerated for now ("importing module -> imported module"); empty, and a test keeps it honest.
KNOWN_UNTIL_MERGE: set[str] = set()


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def resolve(importer: str, package: bool, node: ast.ImportFrom) -> str:
    """The absolute dotted name that a ``from … import`` names (relative levels resolved)."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def part_of(name: str) -> str | None:
    """The layer table's key for a dotted qingshan name (None outside qingshan)."""
    parts = name.split(".")
    if parts[0] != "qingshan":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) for every import in a file; names are empty for ``import x``."""
    me, pkg = module_name(path), is_package(path)
    out: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(me, pkg, node)
            names = [a.name for a in node.names]
            out.append((node.lineno, base, names))
            # ``from . import x`` / ``from ..pkg import mod``: each name may itself be a module
            out.extend((node.lineno, f"{base}.{n}", []) for n in names if (SRC.parent / base.replace(".", "/") / n).exists()
                       or (SRC.parent / base.replace(".", "/") / f"{n}.py").exists())
    return out


def layer_of(name: str) -> int:
    """Layer of a dotted qingshan name: its own entry in MODULE_LAYERS, else its package's."""
    below = name.split(".", 1)[1] if "." in name else ""
    for key, layer in MODULE_LAYERS.items():
        if below == key or below.startswith(key + "."):
            return layer
    return LAYERS[part_of(name)]


def violations(files: list[Path]) -> tuple[list[str], list[str]]:
    """(upward imports, private names crossing packages), each as readable lines."""
    upward, private = [], []
    for path in files:
        me = module_name(path)
        mine = part_of(me)
        assert mine in LAYERS, f"{me}: 模块不在层次表中（tests/test_layers.py LAYERS），请为它指定层次"
        below = me.split(".", 1)[1] if "." in me else ""
        apart = any(below == k or below.startswith(k + ".") for k in MODULE_LAYERS)
        limit = layer_of(me) if apart else SIDE.get(mine, layer_of(me))
        for line, target, names in imports_of(path):
            theirs = part_of(target)
            if theirs is None or theirs == mine:
                continue
            assert theirs in LAYERS, f"{me}:{line} 导入了层次表中没有的 {target}"
            where = f"{path.relative_to(SRC.parent)}:{line}"
            key = f"{me} -> {target}"
            if layer_of(target) > limit and key not in KNOWN_UNTIL_MERGE:
                upward.append(f"{where}: {key} (layer {layer_of(me)} {mine} imports layer {layer_of(target)} {theirs})")
            for n in names:
                if n.startswith("_") and not n.startswith("__") and f"{key}.{n}" not in KNOWN_UNTIL_MERGE:
                    private.append(f"{where}: {me} imports private {target}.{n} from another package")
    return upward, private


def source_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_imports_point_down_the_layers() -> None:
    upward, _ = violations(source_files())
    assert not upward, "向上层的导入（违反 docs/architecture.md 的层次规则）：\n" + "\n".join(upward)


def test_no_private_name_crosses_a_package() -> None:
    _, private = violations(source_files())
    assert not private, "跨包导入私有名称：\n" + "\n".join(private)


def test_known_until_merge_entries_still_exist() -> None:
    """A stale entry would silently allow the import again: every listed import must still be in the code."""
    found = set()
    for path in source_files():
        me = module_name(path)
        for _, target, names in imports_of(path):
            found.add(f"{me} -> {target}")
            found.update(f"{me} -> {target}.{n}" for n in names)
    stale = sorted(KNOWN_UNTIL_MERGE - found)
    assert not stale, "KNOWN_UNTIL_MERGE 中已不存在的导入，请删除：\n" + "\n".join(stale)


@pytest.mark.parametrize("code, expected", [
    ("from ..ingest.common import Quarantine", ""),  # evaluate -> ingest: downward, allowed
    ("from ..evaluate.tables import columns", "upward"),  # the old ingest -> evaluate cycle
    ("def f():\n    from qingshan.web import app", "upward"),  # inside a function, absolute
    ("from ..standards.water_class import _private", "private"),
])
def test_checker_catches_upward_and_private_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    code: str, expected: str) -> None:
    """The checker itself: a module placed in ``store`` (layer 2) or ``ingest`` (layer 3) with the given import."""
    root = tmp_path / "qingshan"
    (root / "ingest").mkdir(parents=True)
    for pkg in ("evaluate", "standards", "web"):
        (root / pkg).mkdir()
        (root / pkg / "__init__.py").write_text("")
    f = root / "ingest" / "probe.py"
    f.write_text(code + "\n")
    monkeypatch.setitem(globals(), "SRC", root)
    upward, private = violations([f])
    assert bool(upward) == (expected == "upward"), upward
    assert bool(private) == (expected == "private"), private


#: packages whose modules must not import each other in a circle (lazy imports inside functions included)
ACYCLIC = ("standards", "store", "ingest", "evaluate")


def test_no_import_cycle_between_modules_of_the_lower_packages() -> None:
    """A cycle hidden behind an import inside a function (ingest.common ↔ ingest.limits) fails too."""
    graph: dict[str, set[str]] = {}
    files = {module_name(p): p for p in source_files() if part_of(module_name(p)) in ACYCLIC}
    for me, path in files.items():
        graph[me] = {t for _, t, _ in imports_of(path) if t in files and t != me}
    cycles: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" → ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "模块间的循环导入：\n" + "\n".join(cycles)


def test_ingest_error_is_a_qingshan_error_and_a_value_error() -> None:
    from qingshan.errors import QingshanError
    from qingshan.ingest.errors import IngestError

    assert issubclass(IngestError, QingshanError) and issubclass(IngestError, ValueError)


#: SQL naming a table of the measurement store (in a string of the code)
STORE_SQL = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:air_hourly|stations|imports|quarantine|water_samples|"
                       r"water_sections|water_auto|dustfall|rain_samples|noise_\w+)\b", re.IGNORECASE)
#: packages that own the SQL on these tables: the store itself, and hj212, which keeps its own tables beside them
SQL_OWNERS = ("store", "hj212")
#: the one exception: the lake export (it copies whole store tables to Parquet with COPY; a store export function
#: is the next step)
SQL_EXCEPTIONS = {"qingshan.lake"}


def test_sql_on_store_tables_lives_in_the_store() -> None:
    """Other packages ask :mod:`qingshan.store.read` (or the store's write methods) instead of writing SQL."""
    found = []
    for path in source_files():
        me = module_name(path)
        if part_of(me) in SQL_OWNERS or me in SQL_EXCEPTIONS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and STORE_SQL.search(node.value):
                found.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: {' '.join(node.value.split())[:80]}")
    assert not found, "存储层之外的 SQL（请在 qingshan.store.read 中增加函数）：\n" + "\n".join(found)
