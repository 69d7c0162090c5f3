"""One ReportError for the report builders; report, chart and console errors derive from QingshanError and keep
their old bases, so existing ``except ValueError`` / ``except RuntimeError`` callers still catch them."""

from __future__ import annotations

import subprocess
import sys

from qingshan.charts.fonts import FontMissing
from qingshan.errors import QingshanError
from qingshan.reports.bulletin import ReportError as BulletinError
from qingshan.reports.convert import ConversionError
from qingshan.reports.monthly import ReportError as MonthlyError
from qingshan.reports.pdf_render import PdfRenderError
from qingshan.reports.rectification import RectificationReportError
from qingshan.web.data.common import BadParameter, DataNotFound
from qingshan.web.store import StoreBusy


def test_one_report_error():
    assert MonthlyError is BulletinError
    assert issubclass(MonthlyError, QingshanError) and issubclass(MonthlyError, ValueError)
    assert issubclass(RectificationReportError, MonthlyError)


def test_errors_for_people_derive_from_qingshan_error_and_keep_their_bases():
    for cls, base in ((PdfRenderError, RuntimeError), (ConversionError, RuntimeError), (FontMissing, RuntimeError),
                      (DataNotFound, LookupError), (BadParameter, ValueError), (StoreBusy, RuntimeError)):
        assert issubclass(cls, QingshanError) and issubclass(cls, base), cls


def test_charts_do_not_import_reports():
    code = "import sys, qingshan.charts.specs; print(sorted(m for m in sys.modules if m.startswith('qingshan.reports')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
