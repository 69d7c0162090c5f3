"""The README walked line by line, as a newcomer on a fresh clone does (issue 12).

Every command line of the README's ```sh blocks runs, in order, in a scratch folder laid out like a clone: the
folder holds ``qingshan-workspace`` (a copy of the session's demo build, which is exactly the README's
``uv run qingshan demo`` with ``--no-serve``) and has ``../shared/data`` beside it when the real data are on
this machine. ``uv run qingshan`` runs as ``python -m qingshan`` of this interpreter (the same entry point, without
uv re-checking the environment for every line). A command that fails fails the test, naming its README line.

Not run, each with its reason: ``pip install`` (installs software), ``pytest`` (this suite itself), the plain
``uv run qingshan demo`` (the shared demo build is that command), lines reading ``../shared/data`` when it is absent.
A command that starts a server (``serve``) is started on a free port and stopped once the port answers.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import SHARED_DATA, demo_copy

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
COMMENT = re.compile(r"\s+#\s.*$")
SERVER_START = 240.0  # seconds a server may take to answer on the loaded 2-core machine


def readme_commands(text: str) -> list[tuple[int, str]]:
    """(line number, command) of every non-empty line of the ```sh blocks, trailing ``# comments`` removed."""
    out, inside = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("```"):
            inside = line.strip() == "```sh" if not inside else False
            continue
        if inside and line.strip():
            out.append((n, COMMENT.sub("", line).strip()))
    return out


def skip_reason(command: str) -> str | None:
    if "pip install" in command:
        return "installs software"
    if "pytest" in command:
        return "the test suite itself"
    if command == "uv run qingshan demo":
        return "the session's demo build runs it (with --no-serve)"
    if "../shared/data" in command and not SHARED_DATA.exists():
        return f"{SHARED_DATA} is absent"
    return None


def as_run(command: str) -> str:
    """The README command with ``uv run qingshan`` / ``uv run python`` on this interpreter."""
    py = shlex.quote(sys.executable)
    return command.replace("uv run qingshan", f"{py} -m qingshan").replace("uv run python", py)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_server(command: str, cwd: Path, env: dict[str, str]) -> str | None:
    """Start ``command`` on a free port, wait (with a deadline) until the port answers, stop it; None when it did,
    else what went wrong."""
    port = free_port()
    command = re.sub(r"--port\s+\d+", f"--port {port}", command)
    proc = subprocess.Popen(["bash", "-c", f"exec {as_run(command)}"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + SERVER_START
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return f"exited {proc.returncode}: {proc.stderr.read()[-2000:]}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return None
            except OSError:
                time.sleep(0.2)  # polling the port against a deadline, not waiting and hoping
        return f"no answer on port {port} within {SERVER_START:.0f} s"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_readme_commands_use_uv_run():
    """Old README: bare ``qingshan …`` (not on PATH after ``uv run``) and placeholders (``noise evaluate …``)."""
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert len(commands) >= 25
    for n, c in commands:
        if skip_reason(c) in ("installs software",):
            continue
        assert c.startswith("uv run "), f"README.md:{n}: {c}"
        assert "…" not in c and " FILES" not in c, f"README.md:{n} has a placeholder: {c}"


@pytest.mark.slow  # every README line as its own process (~30 of them): CI runs it in the separate "-m slow" step
def test_readme_walk(demo_build, tmp_path):
    clone = tmp_path / "clone"
    clone.mkdir()
    demo_copy(demo_build, clone / "qingshan-workspace")
    if SHARED_DATA.exists():
        (tmp_path / "shared").symlink_to(SHARED_DATA.parent, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QINGSHAN_")}
    env["COLUMNS"] = "200"
    skipped, failed = [], []
    for n, command in readme_commands(README.read_text(encoding="utf-8")):
        reason = skip_reason(command)
        if reason:
            skipped.append(f"README.md:{n} ({reason})")
            continue
        if re.search(r"\bqingshan(\s+--workspace\s+\S+)?\s+serve\b", command):
            problem = run_server(command, clone, env)
            if problem:
                failed.append(f"README.md:{n}: {command}\n{problem}")
            continue
        res = subprocess.run(["bash", "-c", as_run(command)], cwd=clone, env=env, capture_output=True, text=True,
                             timeout=900)
        if res.returncode != 0:
            failed.append(f"README.md:{n}: {command}\nexit {res.returncode}\n{res.stdout[-1500:]}\n{res.stderr[-1500:]}")
    assert not failed, "\n\n".join(failed)
    if skipped:
        print("not run:", *skipped, sep="\n  ")
