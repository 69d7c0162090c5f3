"""One settings object: every ``QINGSHAN_*`` environment variable is read here, and only here.

The command line and the servers build one :class:`Settings` (``Settings.from_env()``) and pass it on; library code
that has no caller to hand it a value asks :func:`current`, which reads the environment afresh (tests change it
with ``monkeypatch.setenv``). docs/settings.md lists every variable; ``tests/test_settings.py`` checks that the
list and :data:`VARIABLES` agree and that no other module reads a ``QINGSHAN_*`` variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .errors import QingshanError


class Variable(NamedTuple):
    name: str
    default: str
    meaning: str


#: every variable the platform reads: name, default (as text, "" = unset) and meaning (docs/settings.md)
VARIABLES: tuple[Variable, ...] = (
    Variable("QINGSHAN_WORKSPACE", "qingshan-workspace", "工作区目录（命令行 --workspace 优先）"),
    Variable("QINGSHAN_LEDGER_URL", "", "台账数据库地址（SQLAlchemy URL，如 postgresql+psycopg://…）；缺省用工作区内的 ledger.sqlite"),
    Variable("QINGSHAN_LEDGER_TOKEN_HOURS", "12", "访问令牌和会话的有效小时数"),
    Variable("QINGSHAN_LEDGER_MAX_UPLOAD", "", "单个附件的最大字节数；缺省 20 MiB"),
    Variable("QINGSHAN_CJK_FONT_DIR", "", "中文字体（Noto Sans CJK SC）所在目录；缺省查找发行版的安装位置"),
    Variable("QINGSHAN_FORWARDED_ALLOW_IPS", "", "受信任的反向代理地址（逗号分隔），与 serve --forwarded-allow-ips 相同"),
    Variable("QINGSHAN_DEBUG", "", "设为 1 时命令出错打印完整回溯（缺省只打印一行中文原因）"),
)


class SettingError(QingshanError, ValueError):
    """A ``QINGSHAN_*`` variable holds a value of the wrong kind (the message names the variable, in Chinese)."""


def _positive(env: Mapping[str, str], name: str, kind: type) -> float | int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise SettingError(f"环境变量 {name}={raw!r} 不是{'整数' if kind is int else '数值'}") from None
    if not value > 0:
        raise SettingError(f"环境变量 {name}={raw!r} 应大于 0")
    return value


@dataclass(frozen=True)
class Settings:
    """The platform's settings as read from the environment (each field documents its variable)."""

    #: ``QINGSHAN_WORKSPACE``
    workspace: Path = Path("qingshan-workspace")
    #: ``QINGSHAN_LEDGER_URL``; None = the workspace's ``ledger.sqlite``
    ledger_url: str | None = None
    #: ``QINGSHAN_LEDGER_TOKEN_HOURS``
    token_hours: float = 12.0
    #: ``QINGSHAN_LEDGER_MAX_UPLOAD``; None = the ledger's default (20 MiB)
    max_upload_bytes: int | None = None
    #: ``QINGSHAN_CJK_FONT_DIR``; None = the distributions' font folders
    cjk_font_dir: Path | None = None
    #: ``QINGSHAN_FORWARDED_ALLOW_IPS``
    forwarded_allow_ips: str = ""
    #: ``QINGSHAN_DEBUG``
    debug: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every ``QINGSHAN_*`` variable once; :class:`SettingError` for a malformed number."""
        env = os.environ if env is None else env
        font = env.get("QINGSHAN_CJK_FONT_DIR", "").strip()
        return cls(
            workspace=Path(env.get("QINGSHAN_WORKSPACE", "").strip() or "qingshan-workspace"),
            ledger_url=env.get("QINGSHAN_LEDGER_URL", "").strip() or None,
            token_hours=float(_positive(env, "QINGSHAN_LEDGER_TOKEN_HOURS", float) or 12.0),
            max_upload_bytes=_positive(env, "QINGSHAN_LEDGER_MAX_UPLOAD", int),  # type: ignore[arg-type]
            cjk_font_dir=Path(font).expanduser() if font else None,
            forwarded_allow_ips=env.get("QINGSHAN_FORWARDED_ALLOW_IPS", "").strip(),
            debug=env.get("QINGSHAN_DEBUG", "").strip().lower() not in ("", "0", "false", "no"),
        )


def current() -> Settings:
    """The settings as the environment holds them now (read afresh: cheap, and tests may change the environment)."""
    return Settings.from_env()
