"""``python -m qingshan``: the command line (the same as the ``qingshan`` script)."""

from .cli import app

app(prog_name="qingshan")
