"""The settings object: one reader of the ``QINGSHAN_*`` variables, each documented in docs/settings.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qingshan.settings import VARIABLES, SettingError, Settings

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "qingshan"


def test_defaults_without_any_variable():
    s = Settings.from_env({})
    assert s == Settings()
    assert s.workspace == Path("qingshan-workspace") and s.ledger_url is None and s.token_hours == 12.0
    assert s.max_upload_bytes is None and s.cjk_font_dir is None and not s.debug


def test_every_variable_is_read():
    s = Settings.from_env({"QINGSHAN_WORKSPACE": "/srv/ws", "QINGSHAN_LEDGER_URL": "postgresql+psycopg://x/y",
                           "QINGSHAN_LEDGER_TOKEN_HOURS": "1.5", "QINGSHAN_LEDGER_MAX_UPLOAD": "1024",
                           "QINGSHAN_CJK_FONT_DIR": "/fonts", "QINGSHAN_FORWARDED_ALLOW_IPS": "10.0.0.1",
                           "QINGSHAN_DEBUG": "1"})
    assert s == Settings(workspace=Path("/srv/ws"), ledger_url="postgresql+psycopg://x/y", token_hours=1.5,
                         max_upload_bytes=1024, cjk_font_dir=Path("/fonts"), forwarded_allow_ips="10.0.0.1",
                         debug=True)
    assert not Settings.from_env({"QINGSHAN_DEBUG": "no"}).debug


@pytest.mark.parametrize("name, raw, words", [
    ("QINGSHAN_LEDGER_TOKEN_HOURS", "twelve", "不是数值"),
    ("QINGSHAN_LEDGER_TOKEN_HOURS", "0", "应大于 0"),
    ("QINGSHAN_LEDGER_MAX_UPLOAD", "2.5", "不是整数"),
    ("QINGSHAN_LEDGER_MAX_UPLOAD", "-1", "应大于 0"),
])
def test_a_malformed_number_names_the_variable(name, raw, words):
    with pytest.raises(SettingError, match=words) as e:
        Settings.from_env({name: raw})
    assert name in str(e.value)


def test_no_other_module_reads_the_environment_for_a_qingshan_variable():
    readers = []
    for path in SRC.rglob("*.py"):
        if path.name == "settings.py":
            continue
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"(os\.environ|getenv|envvar=)[^\n]*QINGSHAN_", text):
            readers.append(f"{path.relative_to(SRC)}: {m.group(0)}")
    assert not readers, readers


def test_docs_list_every_variable():
    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(QINGSHAN_[A-Z_]+)`", doc))
    assert documented == {v.name for v in VARIABLES}
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r"QINGSHAN_[A-Z_]+[A-Z]", path.read_text(encoding="utf-8")))
    assert used <= documented, used - documented
