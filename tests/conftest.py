from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
QUOTSOFT = SHARED_DATA / "cnemc_sites_quotsoft_20230120-23"
STATION_LIST = SHARED_DATA / "cnemc_station_list_quotsoft_2022-02-13"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data folder {path} is absent (tests read ../shared/data; it is not copied into the repo)")
    return path


@pytest.fixture
def ws(tmp_path):
    from qingshan.store.workspace import Workspace

    w = Workspace(tmp_path / "ws")
    yield w
    w.close()
