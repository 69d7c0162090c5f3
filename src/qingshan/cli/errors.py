"""How the command line reports a failure: one Chinese line on stderr and an exit code, never a traceback.

* A file or store the command cannot use (:class:`~qingshan.ingest.common.IngestError`, a store held by another
  process, …): ``错误：…`` / ``导入失败：…`` and exit code 2.
* Anything unexpected (a bug): one line naming the error and exit code 1.

Set the environment variable ``QINGSHAN_DEBUG=1`` to get Python's full traceback instead (for bug reports).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, NoReturn

import typer
from rich.text import Text

from ..settings import current as current_settings
from .output import err

DEBUG_ENV = "QINGSHAN_DEBUG"
#: Longest message printed (a message quoting a hostile file stays one readable line).
MAX_MESSAGE = 500


def debugging() -> bool:
    return current_settings().debug


def one_line(message: object, limit: int = MAX_MESSAGE) -> str:
    """The message on one line (line breaks and control characters become spaces), at most ``limit`` characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fail(message: object, code: int = 2, prefix: str = "错误：") -> NoReturn:
    """Print ``prefix + message`` as one line on stderr (no rich markup is interpreted in it) and exit."""
    err.print(Text.assemble((prefix, "red"), one_line(message)), soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def import_errors(prefix: str = "导入失败：") -> Iterator[None]:
    """Turn the errors of an import command into one line and an exit code (module docstring)."""
    import duckdb  # not at module level: `qingshan --help` must not load DuckDB

    from ..ingest.common import IngestError

    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except (IngestError, duckdb.IOException) as e:
        if debugging():
            raise
        fail(e, 2, prefix)
    except MemoryError:
        if debugging():
            raise
        fail("内存不足：文件过大或格式异常，请拆分文件后重试", 2, prefix)
    except Exception as e:  # noqa: BLE001 - a bug: still one line, the traceback on request
        if debugging():
            raise
        fail(f"内部错误 {type(e).__name__}: {e}（设置环境变量 {DEBUG_ENV}=1 可显示详细的错误追踪）", 1, prefix)
