"""The per-socket token bucket: a burst, then the steady rate."""

import pytest

from vesalius.common.token_bucket import TokenBucket


def test_a_burst_then_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=50, burst=5, clock=lambda: now[0])
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    assert bucket.retry_after() == pytest.approx(0.02)
    now[0] += 0.02
    assert bucket.take()
    now[0] += 100  # saved up tokens never exceed the burst
    assert sum(bucket.take() for _ in range(10)) == 5


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(rate=0, burst=1)
