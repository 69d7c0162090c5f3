"""``qingshan alerts explain`` as a whole command (issue 14: ≤ 2 s): what a fresh process imports to answer.

A structural check, not a timing (bench/explain_bench.py times it): the command needs typer, DuckDB and numpy;
pyarrow (its compute module alone cost 0.3 s CPU, imported by the store's writers), pandas, the web and ledger
stacks, the other command groups and the lunar calendar (outside January–March no date is a festival night)
must stay out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from qingshan.alerts.scenarios import generate
from qingshan.store.workspace import DB_FILE

from .explain_fixtures import empty_store, load_frames

NOT_NEEDED = ("pyarrow", "pandas", "sqlalchemy", "fastapi", "lunar_python", "qingshan.cli.air", "qingshan.cli.lake",
              "qingshan.cli.water", "qingshan.cli.deposition", "qingshan.evaluate.air")


def test_explain_command_imports_only_what_it_needs(tmp_path: Path) -> None:
    sc = generate("industry", 1)
    assert sc.at.month > 3
    con = empty_store(str(tmp_path / DB_FILE))
    load_frames(con, sc.stations, sc.air, sc.met, sc.outlets, sc.outlet_hours)
    con.close()
    code = ("import sys, json\nfrom qingshan.cli import app\n"
            f"args = ['--workspace', {str(tmp_path)!r}, 'alerts', 'explain', '--station', 'S00', '--at', "
            f"{sc.at.strftime('%Y-%m-%d %H:00')!r}, '--json']\n"
            "try:\n    app(args, prog_name='qingshan')\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            f"print('LOADED=' + json.dumps([m for m in {NOT_NEEDED!r} if m in sys.modules]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "QINGSHAN_LEDGER_URL": ""})
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout.strip().splitlines()
    assert json.loads(out[-1].removeprefix("LOADED=")) == []
    note = json.loads("\n".join(out[:-1]))
    assert note["station"] == "S00" and note["judgement"]  # the command still answered
