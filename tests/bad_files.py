"""Broken and hostile input files for the importer hardening tests (issue 11, finding 10), written on demand into
``tmp_path`` (nothing large is kept in the repository), and a runner that imports one of them through the real
command line in a child process and measures that child's peak memory."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl

LONG_HEADER = "station,time,so2,no2,co,o3,pm10,pm25"
MIB = 1 << 20


def garbage(path: Path, size: int = 4096, seed: int = 11) -> Path:
    """Random bytes (not a zip, not text)."""
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def small_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def _replace_sheet(template: Path, path: Path, write_sheet) -> Path:
    """A copy of the XLSX ``template`` whose first sheet's XML is written by ``write_sheet(stream)``."""
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with dst.open(info.filename, "w", force_zip64=True) as stream:
                    write_sheet(stream)
            else:
                dst.writestr(info, src.read(info.filename))
    return path


_SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = b"</sheetData></worksheet>"


def xlsx_zip_bomb(tmp: Path, name: str = "bomb.xlsx", uncompressed: int = 80 * MIB) -> Path:
    """A valid XLSX whose sheet XML inflates to ``uncompressed`` bytes of rows (about 1/300 of that on disk)."""
    template = small_xlsx(tmp / "template.xlsx", [LONG_HEADER.split(",")])
    row = b"".join(b'<c t="inlineStr"><is><t>8</t></is></c>' for _ in range(8))
    row = b"<row>" + row + b"</row>"
    block = row * (MIB // len(row))

    def write(stream) -> None:
        stream.write(_SHEET_HEAD)
        for _ in range(uncompressed // len(block)):
            stream.write(block)
        stream.write(_SHEET_TAIL)

    return _replace_sheet(template, tmp / name, write)


def xlsx_far_cell(tmp: Path, name: str = "far.xlsx", ref: str = "XFD1048576") -> Path:
    """A tiny XLSX with one more cell far away (``XFD1048576``): pandas would pad every row to that grid."""
    template = small_xlsx(tmp / "template.xlsx", [LONG_HEADER.split(",")])
    cells = b"".join(f'<c r="{c}1" t="inlineStr"><is><t>{h}</t></is></c>'.encode()
                     for c, h in zip("ABCDEFGH", LONG_HEADER.split(",")))
    row_no = int("".join(ch for ch in ref if ch.isdigit()))

    def write(stream) -> None:
        stream.write(_SHEET_HEAD + b'<row r="1">' + cells + b"</row>")
        stream.write(f'<row r="{row_no}"><c r="{ref}"><v>1</v></c></row>'.encode() + _SHEET_TAIL)

    return _replace_sheet(template, tmp / name, write)


def long_line_csv(path: Path, size: int = 100 * MIB) -> Path:
    """A long-format CSV whose one data line is ``size`` bytes long (a single 100 MB field)."""
    with open(path, "wb") as f:
        f.write(f"{LONG_HEADER}\nS1,2023-01-20 01:00,".encode())
        chunk = b"9" * MIB
        for _ in range(size // MIB):
            f.write(chunk)
        f.write(b",30,0.9,40,71,45\n")
    return path


def wide_csv(path: Path, columns: int = 1_000_000) -> Path:
    """A CSV with ``columns`` columns: station, time, so2 and then unknown ones."""
    names = ["station", "time", "so2"] + [f"extra{i}" for i in range(columns - 3)]
    values = ["S1", "2023-01-20 01:00", "8"] + ["1"] * (columns - 3)
    path.write_text(",".join(names) + "\n" + ",".join(values) + "\n", encoding="utf-8")
    return path


def quotsoft_wide(path: Path, stations: int = 200_000) -> Path:
    """A quotsoft day file with ``stations`` stations in its header and one PM2.5 line."""
    codes = ",".join(f"{1000 + i}A" for i in range(stations))
    path.write_text(f"date,hour,type,{codes}\n20230120,0,PM2.5,{','.join(['35'] * stations)}\n", encoding="utf-8")
    return path


def json_gzip_bomb(path: Path, uncompressed: int = 300 * MIB) -> Path:
    """A ``.json.gz`` that inflates to ``uncompressed`` bytes (spaces inside a JSON document)."""
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b'{"thead": [], "tbody": [], "pad": "')
        chunk = b" " * MIB
        for _ in range(uncompressed // MIB):
            f.write(chunk)
        f.write(b'"}')
    return path


def deep_json(path: Path, depth: int = 200_000) -> Path:
    path.write_text("[" * depth + "]" * depth, encoding="utf-8")
    return path


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


#: Address-space cap of the child: an importer that tried to build a huge grid fails there (MemoryError) instead of
#: taking the machine's memory; far above what a bounded import needs.
CHILD_ADDRESS_SPACE = 6 << 30

_CHILD = """
import contextlib, io, json, resource, sys, traceback
from qingshan.cli import app
results = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app(args, prog_name="qingshan")
            rc = 0
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 1
        except BaseException:  # what the console would show: a traceback
            traceback.print_exc()
            rc = 1
    results.append({"rc": rc, "out": out.getvalue(), "err": err.getvalue()})
print(json.dumps(results))
"""

_WRAPPER = """
import json, resource, subprocess, sys
cap = int(sys.argv[1])
p = subprocess.run(sys.argv[2:], capture_output=True, text=True,
                   preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)))
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
print(json.dumps({"rc": p.returncode, "out": p.stdout, "err": p.stderr, "peak": peak}))
"""


def run_cli_batch(commands: list[list[object]], env: dict[str, str] | None = None) -> tuple[list[Run], float]:
    """Run each ``qingshan`` command line of ``commands`` (one after the other, in one child process, so that the
    interpreter starts once) through the real CLI entry point, and return their results and the child's peak
    resident memory in MiB, measured by a wrapper process with ``getrusage(RUSAGE_CHILDREN)`` (the child is its
    only child). The child's address space is capped at :data:`CHILD_ADDRESS_SPACE`."""
    e = {k: v for k, v in os.environ.items() if k != "QINGSHAN_DEBUG"}
    e.update({"COLUMNS": "100", **(env or {})})
    args = json.dumps([[str(a) for a in c] for c in commands])
    wrapper = subprocess.run([sys.executable, "-c", _WRAPPER, str(CHILD_ADDRESS_SPACE), sys.executable, "-c", _CHILD,
                              args], capture_output=True, text=True, env=e)
    assert wrapper.returncode == 0, wrapper.stderr
    d = json.loads(wrapper.stdout)
    assert d["rc"] == 0, d["err"][-3000:]
    runs = [Run(r["rc"], r["out"], r["err"]) for r in json.loads(d["out"])]
    return runs, d["peak"]


def json_text(doc: object) -> str:
    return json.dumps(doc, ensure_ascii=False)
