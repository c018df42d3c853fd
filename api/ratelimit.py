"""Failed authentications per client, in a sliding window: past the limit, the client waits."""

import time
from collections import defaultdict, deque


class FailureLimiter:
    def __init__(self, limit: int, window_seconds: float = 60.0) -> None:
        self._limit = limit
        self._window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str) -> deque[float]:
        stamps = self._failures[client]
        cutoff = time.monotonic() - self._window
        while stamps and stamps[0] < cutoff:
            stamps.popleft()
        return stamps

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self._limit

    def failed(self, client: str) -> None:
        self._recent(client).append(time.monotonic())

    def retry_after(self, client: str) -> int:
        stamps = self._recent(client)
        return max(1, int(stamps[0] + self._window - time.monotonic()) + 1) if stamps else 1
