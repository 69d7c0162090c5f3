"""``python -m qingshan.hj212 …``: the ``qingshan hj212`` commands on their own (e.g. a receiver started by a
service manager, a script or a test)."""

from ..cli.hj212 import hj212_app

if __name__ == "__main__":
    hj212_app(prog_name="python -m qingshan.hj212")
