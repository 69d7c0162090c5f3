"""The overview's JSON is encoded again only when its content changed (web/cache.py:EncodedMemo)."""

from __future__ import annotations

import numpy as np
import orjson

from qingshan.web.cache import EncodedMemo
from qingshan.web.jsonable import dumps


def _content(pm25: float) -> dict:
    return {"city": "示范市", "stations": [{"code": f"S{i}", "pm25": pm25 + i} for i in range(3)], "ok": True}


def test_equal_content_reuses_the_bytes():
    memo = EncodedMemo()
    first = memo.dumps(("overview", "public"), _content(30.0))
    again = memo.dumps(("overview", "public"), _content(30.0))  # a new but equal object
    assert again is first and orjson.loads(first) == _content(30.0)
    assert (memo.hits, memo.misses) == (1, 1)


def test_a_changed_value_is_encoded_again():
    memo = EncodedMemo()
    memo.dumps("s", _content(30.0))
    body = memo.dumps("s", _content(31.0))
    assert orjson.loads(body)["stations"][0]["pm25"] == 31.0
    assert (memo.hits, memo.misses) == (0, 2)


def test_slots_are_separate():
    memo = EncodedMemo()
    a = memo.dumps(("overview", "public"), {"ledger": {"overdue": 0}})
    b = memo.dumps(("overview", "bureau"), {"ledger": {"overdue": 2}})
    assert orjson.loads(a) == {"ledger": {"overdue": 0}} and orjson.loads(b) == {"ledger": {"overdue": 2}}
    assert memo.dumps(("overview", "public"), {"ledger": {"overdue": 0}}) is a


def test_uncomparable_content_is_encoded_each_time():
    memo = EncodedMemo()
    # two NaN objects are unequal: never a hit (the same object is equal to itself), always the same valid JSON
    assert memo.dumps("n", {"v": float("nan")}) == memo.dumps("n", {"v": float("nan")}) == b'{"v":null}'
    arr = {"v": np.array([1, 2])}  # == gives an array: no truth value
    assert memo.dumps("a", arr) == memo.dumps("a", {"v": np.array([1, 2])}) == dumps(arr)
    assert memo.hits == 0


def test_least_recently_used_slots_are_forgotten():
    memo = EncodedMemo(max_slots=2)
    memo.dumps("a", 1)
    memo.dumps("b", 2)
    memo.dumps("a", 1)  # a is now the most recent
    memo.dumps("c", 3)  # b goes
    memo.dumps("a", 1)
    memo.dumps("b", 2)
    assert (memo.hits, memo.misses) == (2, 4)
