"""A token bucket: ``rate`` tokens a second, at most ``burst`` saved up. One per socket or
per caller, in memory (shared limits across machines use ``CounterStore``)."""

import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self, tokens: float = 1.0) -> bool:
        """Spend ``tokens`` if there are that many; False (and nothing spent) otherwise."""
        self._refill()
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False

    def retry_after(self, tokens: float = 1.0) -> float:
        """Seconds until ``tokens`` will be there."""
        self._refill()
        return max(0.0, (tokens - self._tokens) / self.rate)
