"""Sign-in throttling: slow down password guessing at ``POST /api/v1/auth/token`` and the console's ``/login``.

Failed attempts are counted per (account, client address) and per client address within a sliding window. After
``max_failures`` failures for one account from one address — or ``max_per_address`` failures from one address
over any accounts — further attempts from that address are refused for ``lockout`` seconds, even with the right
password (a correct guess must not be distinguishable while locked). A success clears the account's count. Keys
are not per account alone, so nobody can lock a colleague out from elsewhere. State is in memory (one server
process owns the workspace) and bounded: entries older than the window are dropped as they are met.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(self, max_failures: int = 5, max_per_address: int = 20, window: float = 900.0,
                 lockout: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures, self.max_per_address = max_failures, max_per_address
        self.window, self.lockout, self.clock = window, lockout, clock
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._locked_until: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ("account", username.strip().lower(), address), ("address", address)

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until ``username`` may try again from ``address``, or None when it may try now."""
        now = self.clock()
        with self._lock:
            waits = [until - now for key in self._keys(username, address)
                     if (until := self._locked_until.get(key)) is not None and until > now]
        return math.ceil(max(waits)) if waits else None

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, limit in zip(self._keys(username, address), (self.max_failures, self.max_per_address)):
                q = self._failures.setdefault(key, deque())
                q.append(now)
                while q and q[0] <= now - self.window:
                    q.popleft()
                if len(q) >= limit:
                    self._locked_until[key] = now + self.lockout
                    q.clear()
            self._forget_stale(now)

    def succeeded(self, username: str, address: str) -> None:
        account, _ = self._keys(username, address)
        with self._lock:
            self._failures.pop(account, None)
            self._locked_until.pop(account, None)

    def _forget_stale(self, now: float) -> None:
        if len(self._failures) < 10_000:
            return
        for key in [k for k, q in self._failures.items() if not q or q[-1] <= now - self.window]:
            del self._failures[key]
        for key in [k for k, until in self._locked_until.items() if until <= now]:
            del self._locked_until[key]


def client_address(request) -> str:  # noqa: ANN001 (a Starlette request)
    """The peer address. ``qingshan serve`` replaces it with ``X-Forwarded-For`` only for requests from the proxies
    listed in ``--forwarded-allow-ips`` (none by default), so a client cannot choose the address it is counted under."""
    return request.client.host if request.client is not None else "-"


THROTTLED = "登录失败次数过多，请 {seconds} 秒后再试"
