"""``python -m qingshan.cli`` (the same as ``qingshan`` and ``python -m qingshan``)."""

from . import app

app(prog_name="qingshan")
